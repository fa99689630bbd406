package store

import (
	"bytes"
	"context"
	"fmt"
	"hash/maphash"
	"time"

	"github.com/chatstage/chatstage/etl"
	"github.com/jackc/pgx/v5"
)

// A load's rows take one of three ways, decided as the file streams from
// what the database already has of each row (LoadLookup, asked once per
// batch by etl.Stream), so that PostgreSQL does as little as possible:
//
//   - known: the exact version (chat_id, updated_at, content hash) is
//     already kept. etl did not even shape it. If no earlier row of the file
//     touched its chat, it is counted here (unchanged or stale) and sent
//     nowhere; otherwise its keys go to the incoming table, for the merge's
//     counts.
//   - direct: the chat is not in the database and this is its first row in
//     the file. It cannot conflict with anything, so it is COPYed straight
//     into staging.chat_versions, staging.chats and staging.messages: the
//     bulk path, instead of a landing table and INSERT ... SELECT.
//   - merged: everything else goes whole to the incoming table and through
//     the set-wise merge (merge.go), which sees the direct rows already in
//     place, as if the file were applied in order: batches arrive in file
//     order, so a direct row always comes before any merged row of its chat.
//
// Rejected records go to the incoming table too.

// copyFlushBytes is the size of the encoded rows sent as one round of
// COPYs; two rounds in flight bound the memory a load takes here.
const copyFlushBytes = 4 << 20

const (
	versionsCopySQL = `COPY staging.chat_versions (chat_id, updated_at, created_at, slug, token, organization_id,
    language, is_test_chat, sentiment, resolution, message_count, conversation_log, structured_info, facts,
    default_message_id, is_default_chat, messages_kept, quality_flags, row_hash, load_id, source_line)
FROM STDIN (FORMAT binary)`
	chatsCopySQL = `COPY staging.chats (chat_id, updated_at, created_at, slug, token, organization_id,
    language, is_test_chat, sentiment, resolution, message_count, facts,
    default_message_id, is_default_chat, messages_kept, quality_flags, row_hash, load_id, source_line)
FROM STDIN (FORMAT binary)`
	messagesCopySQL = `COPY staging.messages (chat_id, ordinal, message_id, role, type, content,
    disclaimer, extra) FROM STDIN (FORMAT binary)`
)

// lookupSQL says, for each key of a batch, whether its exact version is
// kept, whether that version is the chat's current one, and whether the
// chat exists at all.
const lookupSQL = `
SELECT k.known,
       coalesce(c.updated_at = k.updated_at AND c.row_hash = k.row_hash, false),
       c.chat_id IS NOT NULL OR k.known
FROM (
    SELECT k.i, k.chat_id, k.updated_at, k.row_hash,
           EXISTS (SELECT 1 FROM staging.chat_versions v
                   WHERE v.chat_id = k.chat_id AND v.updated_at = k.updated_at AND v.row_hash = k.row_hash) AS known
    FROM unnest($1::text[], $2::timestamptz[], $3::bytea[]) WITH ORDINALITY AS k(chat_id, updated_at, row_hash, i)
) k
LEFT JOIN staging.chats c ON c.chat_id = k.chat_id
ORDER BY k.i`

// LoadLookup returns the etl.StreamOptions.Lookup of a load: one query per
// batch, never per row, on the pool's other connections. Call it after
// LoadBegin (or DryRunBegin): the load then holds the ingest lock, so no
// other load can change the answers before this one commits. On an empty
// history it answers without asking.
func (s *Store) LoadLookup(ctx context.Context) (func(context.Context, []etl.Key) ([]etl.KeyState, error), error) {
	var empty bool
	if err := s.pool.QueryRow(ctx, historyEmptySQL).Scan(&empty); err != nil {
		return nil, fmt.Errorf("looking up the history: %w", err)
	}
	if empty {
		return func(_ context.Context, keys []etl.Key) ([]etl.KeyState, error) {
			return make([]etl.KeyState, len(keys)), nil
		}, nil
	}
	return s.lookup, nil
}

func (s *Store) lookup(ctx context.Context, keys []etl.Key) ([]etl.KeyState, error) {
	ids := make([]string, len(keys))
	times := make([]time.Time, len(keys))
	hashes := make([][]byte, len(keys))
	for i := range keys {
		ids[i], times[i], hashes[i] = keys[i].ChatID, keys[i].UpdatedAt, keys[i].Hash[:]
	}
	rows, err := s.pool.Query(ctx, lookupSQL, ids, times, hashes)
	if err != nil {
		return nil, err
	}
	states := make([]etl.KeyState, 0, len(keys))
	for rows.Next() {
		var st etl.KeyState
		if err := rows.Scan(&st.Known, &st.Current, &st.ChatExists); err != nil {
			rows.Close()
			return nil, err
		}
		states = append(states, st)
	}
	return states, rows.Err()
}

// seenChats remembers which chat ids a load has met, in fixed memory: a
// Bloom filter of 2^25 bits (4 MB; 0.02% false positives at 600,000 chats). A false positive only sends a row the
// merged way; it never makes a row direct that should not be.
type seenChats struct {
	bits []uint64
	seed maphash.Seed
}

const seenBits = 1 << 25

func newSeenChats() *seenChats {
	return &seenChats{bits: make([]uint64, seenBits/64), seed: maphash.MakeSeed()}
}

// add records id and reports whether it may have been seen before.
func (s *seenChats) add(id string) (seen bool) {
	h := maphash.String(s.seed, id)
	seen = true
	for _, x := range [3]uint64{h, h>>21 | h<<43, h>>42 | h<<22} {
		i := x % seenBits
		if s.bits[i/64]&(1<<(i%64)) == 0 {
			seen = false
			s.bits[i/64] |= 1 << (i % 64)
		}
	}
	return seen
}

// copyRound is one round of encoded rows, one buffer per target table.
// Rounds are reused, so a load allocates three of them at most.
type copyRound struct {
	incoming, knownFirst, versions, chats, messages copyEncoder
	counts                                          copyCounts
}

func (r *copyRound) reset() {
	r.incoming.b, r.knownFirst.b = r.incoming.b[:0], r.knownFirst.b[:0]
	r.versions.b, r.chats.b, r.messages.b = r.versions.b[:0], r.chats.b[:0], r.messages.b[:0]
	r.counts = copyCounts{}
}

func (r *copyRound) size() int {
	return len(r.incoming.b) + len(r.knownFirst.b) + len(r.versions.b) + len(r.chats.b) + len(r.messages.b)
}

type copyCounts struct {
	rows, rejects    int64
	direct           int64 // rows written straight into the staging tables
	directMessages   int64
	unchanged, stale int64 // known rows counted without the merge
}

func (c *copyCounts) add(o copyCounts) {
	c.rows += o.rows
	c.rejects += o.rejects
	c.direct += o.direct
	c.directMessages += o.directMessages
	c.unchanged += o.unchanged
	c.stale += o.stale
}

// loadCopy sends the batches of one file: an encoder goroutine looks each
// batch up, sorts its rows into the three ways and encodes them, while this
// goroutine runs the COPYs of the previous round on the load's connection.
// direct=false sends every row the merged way (a load under a reject budget
// must be able to drop its rows and keep its rejects).
func (s *Store) loadCopy(ctx context.Context, tx pgx.Tx, loadID int64, batches <-chan *etl.Batch, direct bool) (copyCounts, error) {
	var total copyCounts
	rounds := make(chan *copyRound, 1)
	free := make(chan *copyRound, 2)
	errc := make(chan error, 1)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		defer close(rounds)
		errc <- encodeRounds(ctx, loadID, batches, direct, rounds, free)
	}()
	for r := range rounds {
		for _, c := range []struct {
			e   *copyEncoder
			sql string
		}{{&r.incoming, incomingCopySQL}, {&r.knownFirst, knownFirstCopySQL}, {&r.versions, versionsCopySQL},
			{&r.chats, chatsCopySQL}, {&r.messages, messagesCopySQL}} {
			if len(c.e.b) == 0 {
				continue
			}
			c.e.trailer()
			if _, err := tx.Conn().PgConn().CopyFrom(ctx, bytes.NewReader(c.e.b), c.sql); err != nil {
				cancel()
				for range rounds { // let the encoder see the cancellation and stop
				}
				return total, err
			}
		}
		total.add(r.counts)
		r.reset()
		select {
		case free <- r:
		default:
		}
	}
	return total, <-errc
}

// encodeRounds fills rounds from the batches until they are all read.
func encodeRounds(ctx context.Context, loadID int64, batches <-chan *etl.Batch, direct bool,
	out chan<- *copyRound, free <-chan *copyRound) error {
	seen := newSeenChats()
	r := &copyRound{}
	send := func() error {
		select {
		case out <- r:
			select {
			case r = <-free:
			default:
				r = &copyRound{}
			}
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	for b := range batches {
		for i := range b.Rejects {
			r.incoming.begin()
			encodeReject(&r.incoming, &b.Rejects[i])
		}
		for i := range b.Rows {
			row := &b.Rows[i]
			seenBefore := seen.add(row.ChatID)
			switch {
			case row.Known && !seenBefore:
				// Nothing earlier in the file touched this chat, so the row is
				// what the database says: its current version, or an older
				// one. It needs no write and no merge: count it here.
				if row.Current {
					r.counts.unchanged++
				} else {
					r.counts.stale++
				}
				r.knownFirst.begin()
				encodeKnownFirst(&r.knownFirst, row)
			case row.Known:
				r.incoming.begin()
				encodeKnownRow(&r.incoming, row)
			case direct && row.LookedUp && !row.ChatExists && !seenBefore:
				r.versions.begin()
				encodeVersion(&r.versions, row, loadID, true)
				r.chats.begin()
				encodeVersion(&r.chats, row, loadID, false)
				for j := range row.Messages {
					r.messages.begin()
					encodeMessage(&r.messages, row, j)
				}
				r.counts.direct++
				r.counts.directMessages += int64(len(row.Messages))
			default:
				r.incoming.begin()
				encodeRow(&r.incoming, row)
			}
		}
		r.counts.rows += int64(len(b.Rows))
		r.counts.rejects += int64(len(b.Rejects))
		if r.size() >= copyFlushBytes {
			if err := send(); err != nil {
				return err
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if r.size() > 0 || r.counts != (copyCounts{}) {
		return send()
	}
	return nil
}

// encodeVersion writes a row as a staging.chat_versions tuple (withRaw) or
// a staging.chats tuple; see versionsCopySQL and chatsCopySQL.
func encodeVersion(e *copyEncoder, r *etl.Row, loadID int64, withRaw bool) {
	if withRaw {
		e.tuple(21)
	} else {
		e.tuple(19)
	}
	e.text(r.ChatID)
	e.timestamptz(r.UpdatedAt)
	encodeSourceFields(e, r)
	if withRaw {
		e.nullText(r.ConversationLog)
		e.nullText(r.StructuredInfo)
	}
	e.jsonb(r.Facts)
	encodeDerivedFields(e, r)
	e.int8(loadID)
	e.int8(r.Line)
}

// encodeMessage writes message j of a row as a staging.messages tuple.
func encodeMessage(e *copyEncoder, r *etl.Row, j int) {
	m := &r.Messages[j]
	e.tuple(8)
	e.text(r.ChatID)
	e.int4(int32(j))
	e.nullText(m.ID)
	e.nullText(m.Role)
	e.nullText(m.Type)
	e.nullText(m.Content)
	e.nullText(m.Disclaimer)
	if m.Extra.Valid {
		e.jsonb([]byte(m.Extra.S))
	} else {
		e.null()
	}
}
