package store

import (
	"encoding/binary"
	"time"

	"github.com/chatstage/chatstage/etl"
)

// copyEncoder writes PostgreSQL's binary COPY format. Encoding values by
// hand, instead of pgx.CopyFrom boxing each one into an interface, keeps the
// load streaming at memory speed with no allocation per value.
type copyEncoder struct {
	b []byte
}

var copySignature = []byte("PGCOPY\n\xff\r\n\x00")

// pgEpochMicros is 2000-01-01 00:00:00 UTC, the epoch of binary timestamps.
const pgEpochMicros = 946684800 * 1_000_000

const oidText = 25

// begin writes the COPY header before the first tuple of a buffer.
func (e *copyEncoder) begin() {
	if len(e.b) == 0 {
		e.header()
	}
}

func (e *copyEncoder) header() {
	e.b = append(e.b, copySignature...)
	e.b = binary.BigEndian.AppendUint32(e.b, 0) // flags
	e.b = binary.BigEndian.AppendUint32(e.b, 0) // header extension length
}

func (e *copyEncoder) trailer() { e.b = binary.BigEndian.AppendUint16(e.b, 0xFFFF) }

func (e *copyEncoder) tuple(fields int) { e.b = binary.BigEndian.AppendUint16(e.b, uint16(fields)) }

func (e *copyEncoder) null() { e.b = binary.BigEndian.AppendUint32(e.b, 0xFFFFFFFF) }

func (e *copyEncoder) text(s string) {
	e.b = binary.BigEndian.AppendUint32(e.b, uint32(len(s)))
	e.b = append(e.b, s...)
}

func (e *copyEncoder) bytes(b []byte) {
	e.b = binary.BigEndian.AppendUint32(e.b, uint32(len(b)))
	e.b = append(e.b, b...)
}

func (e *copyEncoder) nullText(t etl.Text) {
	if !t.Valid {
		e.null()
		return
	}
	e.text(t.S)
}

// jsonb writes JSON text in jsonb's binary format: a version byte, then
// the text, which the server parses.
func (e *copyEncoder) jsonb(text []byte) {
	e.b = binary.BigEndian.AppendUint32(e.b, uint32(len(text)+1))
	e.b = append(e.b, 1)
	e.b = append(e.b, text...)
}

func (e *copyEncoder) int8(v int64) {
	e.b = binary.BigEndian.AppendUint32(e.b, 8)
	e.b = binary.BigEndian.AppendUint64(e.b, uint64(v))
}

func (e *copyEncoder) int4(v int32) {
	e.b = binary.BigEndian.AppendUint32(e.b, 4)
	e.b = binary.BigEndian.AppendUint32(e.b, uint32(v))
}

func (e *copyEncoder) bool(v bool) {
	e.b = binary.BigEndian.AppendUint32(e.b, 1)
	if v {
		e.b = append(e.b, 1)
	} else {
		e.b = append(e.b, 0)
	}
}

func (e *copyEncoder) timestamptz(t time.Time) {
	e.int8(t.UnixMicro() - pgEpochMicros)
}

// textArray writes a one-dimensional text[] of n elements given by get.
func (e *copyEncoder) textArray(n int, get func(i int) etl.Text) {
	start := len(e.b)
	e.b = binary.BigEndian.AppendUint32(e.b, 0) // length, patched below
	if n == 0 {
		e.b = binary.BigEndian.AppendUint32(e.b, 0) // dimensions
		e.b = binary.BigEndian.AppendUint32(e.b, 0) // has nulls
		e.b = binary.BigEndian.AppendUint32(e.b, oidText)
	} else {
		e.b = binary.BigEndian.AppendUint32(e.b, 1)
		e.b = binary.BigEndian.AppendUint32(e.b, 1) // may have nulls
		e.b = binary.BigEndian.AppendUint32(e.b, oidText)
		e.b = binary.BigEndian.AppendUint32(e.b, uint32(n))
		e.b = binary.BigEndian.AppendUint32(e.b, 1) // lower bound
		for i := range n {
			e.nullText(get(i))
		}
	}
	binary.BigEndian.PutUint32(e.b[start:], uint32(len(e.b)-start-4))
}
