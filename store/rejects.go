package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Reject is a stored rejected record: what staging.rejects keeps.
type Reject struct {
	LoadID     int64  `json:"load_id"`
	Line       int64  `json:"line"` // where the record starts in its file, from 1 (the header is line 1)
	ReasonCode string `json:"reason_code"`
	Reason     string `json:"reason"`
	Raw        string `json:"raw"` // the record as in the file, without its line end
	// ChatID is the chat the record names, when it can be read (contract
	// section 6): empty for a record that is not well-formed CSV or has
	// another number of fields than its header.
	ChatID string `json:"chat_id,omitempty"`
	// Repeats is how many loads rejected this same record (by its text):
	// one open reject however often a night is run again. LastLoadID is
	// the last of them.
	Repeats    int64 `json:"repeats"`
	LastLoadID int64 `json:"last_load_id"`
	// ResolvedByLoad is the later load that kept a row of the chat: the
	// reject was fixed. 0 while it is open.
	ResolvedByLoad int64 `json:"resolved_by_load,omitempty"`
}

// RejectsLoad is a load that has rejects, with the header of its file.
type RejectsLoad struct {
	LoadID  int64
	Source  string
	Rejects int64
	// Header is the source file's header line; HeaderKnown is false for a
	// load recorded before chatstage kept headers (migration 00003).
	Header      string
	HeaderKnown bool
}

// rejectsLoadsSQL lists the loads with rejects (open ones unless $2), or
// the one load asked for even when it has none (so "no rejects" and "no
// such load" differ).
const rejectsLoadsSQL = `
SELECT l.load_id, l.source, coalesce(r.n, 0), coalesce(l.header, ''), l.header IS NOT NULL
FROM staging.loads l
LEFT JOIN (SELECT load_id, count(*) AS n FROM staging.rejects
           WHERE $2 OR resolved_by_load IS NULL GROUP BY load_id) r ON r.load_id = l.load_id
WHERE CASE WHEN $1::bigint = 0 THEN r.n > 0 ELSE l.load_id = $1 END
ORDER BY l.load_id`

// RejectsLoads returns the loads that have open rejects (any rejects when
// all is set), in load order; with loadID not 0, only that load, or
// ErrLoadNotFound. A reject is open until a later load keeps a row of the
// chat it names.
func (s *Store) RejectsLoads(ctx context.Context, loadID int64, all bool) ([]RejectsLoad, error) {
	rows, err := s.pool.Query(ctx, rejectsLoadsSQL, loadID, all)
	if err != nil {
		return nil, s.translate(err, "listing loads with rejects")
	}
	loads, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (RejectsLoad, error) {
		var l RejectsLoad
		err := row.Scan(&l.LoadID, &l.Source, &l.Rejects, &l.Header, &l.HeaderKnown)
		return l, err
	})
	if err != nil {
		return nil, s.translate(err, "listing loads with rejects")
	}
	if loadID != 0 && len(loads) == 0 {
		return nil, fmt.Errorf("load %d: %w", loadID, ErrLoadNotFound)
	}
	return loads, nil
}

// rejectsEachSQL reads the rejects of the given loads in file order. The
// primary key (load_id, source_line) gives that order without a sort.
const rejectsEachSQL = `
SELECT load_id, source_line, reason_code, reason, raw, coalesce(chat_id, ''),
       repeats, coalesce(last_load_id, load_id), coalesce(resolved_by_load, 0)
FROM staging.rejects
WHERE load_id = ANY ($1) AND ($2 OR resolved_by_load IS NULL)
ORDER BY load_id, source_line`

// RejectsEach calls fn with each open reject (each reject when all is set)
// of the loads loadIDs, ordered by load then line, streaming: memory stays
// flat however many there are. fn's Reject is reused between calls. An
// error from fn stops the iteration and is returned as it is.
func (s *Store) RejectsEach(ctx context.Context, loadIDs []int64, all bool, fn func(*Reject) error) error {
	rows, err := s.pool.Query(ctx, rejectsEachSQL, loadIDs, all)
	if err != nil {
		return s.translate(err, "reading rejects")
	}
	defer rows.Close()
	var r Reject
	for rows.Next() {
		if err := rows.Scan(&r.LoadID, &r.Line, &r.ReasonCode, &r.Reason, &r.Raw, &r.ChatID,
			&r.Repeats, &r.LastLoadID, &r.ResolvedByLoad); err != nil {
			return s.translate(err, "reading rejects")
		}
		if err := fn(&r); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return s.translate(err, "reading rejects")
	}
	return nil
}
