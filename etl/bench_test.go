package etl

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/chatstage/chatstage/internal/chatgen"
)

func generated(b *testing.B, chats int) []byte {
	b.Helper()
	var buf bytes.Buffer
	if err := chatgen.Generate(&buf, chatgen.Options{Chats: chats, Seed: 1}); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

// BenchmarkReader measures CSV reading and the reject checks alone.
func BenchmarkReader(b *testing.B) {
	data := generated(b, 2000)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		r, err := NewReader(bytes.NewReader(data), ReaderOptions{})
		if err != nil {
			b.Fatal(err)
		}
		for {
			_, err := r.Next()
			if err == io.EOF {
				break
			}
			var rej *Reject
			if err != nil && !errors.As(err, &rej) {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkShape measures validating and shaping records (JSON included)
// on one goroutine.
func BenchmarkShape(b *testing.B) {
	data := generated(b, 2000)
	r, err := NewReader(bytes.NewReader(data), ReaderOptions{})
	if err != nil {
		b.Fatal(err)
	}
	var recs []Record
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			b.Fatal(err)
		}
		recs = append(recs, rec)
	}
	s := NewShaper(nil)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		for i := range recs {
			s.Shape(&recs[i])
		}
	}
}
