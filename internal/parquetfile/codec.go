package parquetfile

import (
	"sync"

	"github.com/klauspost/compress/zstd"
	"github.com/parquet-go/parquet-go/format"
)

// zstdWindow is the zstd window of the pages. A page is compressed on its
// own and parquet-go fills pages up to 256 KiB of values, so a larger window
// buys nothing; the default (8 MiB at the default level) costs a 16 MiB
// history buffer per encoder.
const zstdWindow = 1 << 20

// zstdCodec is parquet-go's compress.Codec for ZSTD with one encoder per
// Writer and a small window. parquet-go's own zstd.Codec keeps its encoders
// in a sync.Pool, which drops them at each garbage collection: every cycle
// then allocates a new 16 MiB history, and that churn, not the rows, set
// the writer's peak heap.
type zstdCodec struct {
	mu  sync.Mutex
	enc *zstd.Encoder
}

func newZstdCodec() (*zstdCodec, error) {
	enc, err := zstd.NewWriter(nil,
		zstd.WithEncoderLevel(zstd.SpeedDefault),
		zstd.WithWindowSize(zstdWindow),
		zstd.WithEncoderConcurrency(1),
		zstd.WithZeroFrames(true),
		zstd.WithEncoderCRC(false),
	)
	if err != nil {
		return nil, err
	}
	return &zstdCodec{enc: enc}, nil
}

func (c *zstdCodec) String() string                            { return "ZSTD" }
func (c *zstdCodec) CompressionCodec() format.CompressionCodec { return format.Zstd }

func (c *zstdCodec) Encode(dst, src []byte) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.enc.EncodeAll(src, dst[:0]), nil
}

// Decode serves the interface; a Writer never decodes.
func (c *zstdCodec) Decode(dst, src []byte) ([]byte, error) {
	dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1))
	if err != nil {
		return dst[:0], err
	}
	defer dec.Close()
	return dec.DecodeAll(src, dst[:0])
}
