package etl

import (
	"bufio"
	"compress/gzip"
	"crypto/sha256"
	"fmt"
	"hash"
	"io"
	"os"
	"strings"
	"sync/atomic"

	"golang.org/x/text/encoding"
	"golang.org/x/text/transform"
)

// Source is an opened source file: its decompressed content to read, in
// UTF-8, and the size and SHA-256 of its bytes as stored, known once read
// to the end.
type Source struct {
	Name string
	// Total is the size of the stored bytes when known in advance (a
	// regular file, gzipped or not), else 0 (a pipe).
	Total int64
	io.Reader
	counter *countingReader
	utf8    *utf8Counter // nil when an encoding was named
	closers []io.Closer
}

// OpenSource opens name for reading: "-" is stdin, and a name ending in
// ".gz" is gunzipped on the fly. enc, when not nil, decodes the content
// into UTF-8 (EncodingByName); the size and SHA-256 stay those of the
// bytes as stored, counted before gunzip and decoding.
func OpenSource(name string, stdin io.Reader, enc encoding.Encoding) (*Source, error) {
	s := &Source{Name: name}
	var raw io.Reader
	if name == "-" {
		raw = stdin
		if f, ok := stdin.(*os.File); ok {
			s.Total = regularSize(f)
		}
	} else {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		s.closers = append(s.closers, f)
		raw = f
		s.Total = regularSize(f)
	}
	s.counter = &countingReader{r: raw, h: sha256.New()}
	s.Reader = s.counter
	if strings.HasSuffix(name, ".gz") {
		zr, err := gzip.NewReader(bufio.NewReaderSize(s.counter, 64<<10))
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("opening gzip: %w", err)
		}
		s.closers = append(s.closers, zr)
		s.Reader = zr
	}
	if enc != nil {
		s.Reader = transform.NewReader(s.Reader, enc.NewDecoder())
	} else {
		s.utf8 = &utf8Counter{r: s.Reader}
		s.Reader = s.utf8
	}
	return s, nil
}

// UTF8 returns what the content read so far held, read as UTF-8; zero
// when an encoding was named. Call it once reading is done.
func (s *Source) UTF8() UTF8Stats {
	if s.utf8 == nil {
		return UTF8Stats{}
	}
	return s.utf8.stats()
}

// regularSize is the size of f when it is a regular file, else 0.
func regularSize(f *os.File) int64 {
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return 0
	}
	return fi.Size()
}

// Size returns the number of stored bytes read so far. It is safe to call
// while another goroutine reads, for a progress report.
func (s *Source) Size() int64 { return s.counter.n.Load() }

// SHA256 returns the digest of the stored bytes read so far; after the
// reader returned io.EOF it is the file's.
func (s *Source) SHA256() []byte { return s.counter.h.Sum(nil) }

// Close closes the file.
func (s *Source) Close() error {
	var first error
	for i := len(s.closers) - 1; i >= 0; i-- {
		if err := s.closers[i].Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

type countingReader struct {
	r io.Reader
	h hash.Hash
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	c.h.Write(p[:n])
	return n, err
}

// Drain reads what is left of the stored bytes, so that Size and SHA256
// cover the whole file even when the CSV reader stopped at its end.
func (s *Source) Drain() error {
	_, err := io.Copy(io.Discard, s.counter)
	return err
}
