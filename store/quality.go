package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// Quality is what the HTML quality report draws besides Summary: every
// load with its rejects and flags, the flags by the data's own day, and
// the shape of the current chats.
type Quality struct {
	// Loads holds every load, any status, oldest first.
	Loads []LoadQuality
	// Days holds the chat versions by the UTC day of their updated_at,
	// oldest first: the data's own day, whichever load wrote them.
	Days []DayQuality
	// MessagesPerChat counts the live chats by their number of
	// messages, by number ascending; numbers no chat has are left out.
	MessagesPerChat []Distribution
	// ChatsByLanguage counts the live chats by language, most first;
	// "" is no language.
	ChatsByLanguage []NameCount
	// ChatsByHour counts the live chats by the hour (UTC) of their
	// created_at; chats without created_at are in no hour.
	ChatsByHour [24]int64
	// Rejects is the number of rejected records of every load.
	Rejects int64
}

// LoadQuality is a load and the quality of what it read and wrote.
type LoadQuality struct {
	LoadRecord
	// RejectsByReason counts the load's rejects by reason code, most first.
	RejectsByReason []NameCount
	// FlagsByName counts, for each quality flag, the chat versions this
	// load wrote that carry it, most first. A version rewritten by a later
	// load (same chat_id and updated_at, other content) is that load's.
	FlagsByName []NameCount
}

// DayQuality is the chat versions of one day of updated_at (UTC).
type DayQuality struct {
	Day      time.Time // midnight UTC
	Versions int64     // versions of that day, flagged or not
	// FlagsByName counts the versions of that day carrying each flag,
	// most first.
	FlagsByName []NameCount
}

// Distribution is how many chats have one value.
type Distribution struct {
	Value int64
	Chats int64
}

const qualityLoadsSQL = `
SELECT load_id, source, status, coalesce(size_bytes, 0), coalesce(sha256, ''),
       rows_read, rows_rejected, versions_new, chats_inserted, chats_updated,
       chats_unchanged, chats_stale, messages_written, rows_suppressed, chats_retired,
       snapshot, coalesce(error, ''), coalesce(note, ''), started_at, finished_at
FROM staging.loads
ORDER BY load_id`

const qualityLoadRejectsSQL = `
SELECT load_id, reason_code, count(*) FROM staging.rejects
GROUP BY load_id, reason_code
ORDER BY load_id, count(*) DESC, reason_code`

const qualityLoadFlagsSQL = `
SELECT load_id, flag, count(*) FROM staging.chat_versions, unnest(quality_flags) AS flag
GROUP BY load_id, flag
ORDER BY load_id, count(*) DESC, flag`

// The data's day is taken in UTC, whatever the session's TimeZone, as
// the analytics views take theirs.
const qualityDaysSQL = `
SELECT (updated_at AT TIME ZONE 'UTC')::date AS day, count(*) FROM staging.chat_versions
GROUP BY day ORDER BY day`

const qualityDayFlagsSQL = `
SELECT (updated_at AT TIME ZONE 'UTC')::date AS day, flag, count(*)
FROM staging.chat_versions, unnest(quality_flags) AS flag
GROUP BY day, flag
ORDER BY day, count(*) DESC, flag`

// messages_kept is the number of a chat's rows in staging.messages (its
// messages that are objects, numbered from 0), so the histogram needs no
// pass over the messages.
const qualityMessagesPerChatSQL = `
SELECT messages_kept, count(*) FROM staging.chats WHERE retired_by_load IS NULL
GROUP BY messages_kept ORDER BY messages_kept`

const qualityLanguagesSQL = `
SELECT coalesce(language, ''), count(*) FROM staging.chats WHERE retired_by_load IS NULL
GROUP BY 1 ORDER BY 2 DESC, 1`

const qualityHoursSQL = `
SELECT extract(hour FROM created_at AT TIME ZONE 'UTC')::integer AS hour, count(*)
FROM staging.chats WHERE created_at IS NOT NULL AND retired_by_load IS NULL
GROUP BY hour`

const qualityRejectsSQL = `SELECT count(*) FROM staging.rejects`

// keyedCount is one row of a count grouped by a key and a name.
type keyedCount[K any] struct {
	key K
	NameCount
}

// Quality reads, in the snapshot, what the quality report draws.
func (sn *Snapshot) Quality(ctx context.Context) (Quality, error) {
	var q Quality
	if err := sn.qualityLoads(ctx, &q); err != nil {
		return q, sn.s.translate(err, "reading the loads' quality")
	}
	if err := sn.qualityDays(ctx, &q); err != nil {
		return q, sn.s.translate(err, "reading the quality by day")
	}
	if err := sn.qualityChats(ctx, &q); err != nil {
		return q, sn.s.translate(err, "reading the chats' profile")
	}
	return q, nil
}

func (sn *Snapshot) qualityLoads(ctx context.Context, q *Quality) error {
	rows, err := sn.tx.Query(ctx, qualityLoadsSQL)
	if err != nil {
		return err
	}
	q.Loads, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (LoadQuality, error) {
		var l LoadQuality
		err := row.Scan(&l.LoadID, &l.Source, &l.Status, &l.SizeBytes, &l.SHA256,
			&l.RowsRead, &l.RowsRejected, &l.VersionsNew, &l.ChatsInserted, &l.ChatsUpdated,
			&l.ChatsUnchanged, &l.ChatsStale, &l.MessagesWritten, &l.RowsSuppressed, &l.ChatsRetired,
			&l.Snapshot, &l.Error, &l.Note, &l.StartedAt, &l.FinishedAt)
		return l, err
	})
	if err != nil {
		return err
	}
	index := make(map[int64]int, len(q.Loads))
	for i, l := range q.Loads {
		index[l.LoadID] = i
	}
	rejects, err := keyedCounts[int64](ctx, sn.tx, qualityLoadRejectsSQL)
	if err != nil {
		return err
	}
	for _, r := range rejects {
		if i, ok := index[r.key]; ok {
			q.Loads[i].RejectsByReason = append(q.Loads[i].RejectsByReason, r.NameCount)
		}
	}
	flags, err := keyedCounts[int64](ctx, sn.tx, qualityLoadFlagsSQL)
	if err != nil {
		return err
	}
	for _, f := range flags {
		if i, ok := index[f.key]; ok {
			q.Loads[i].FlagsByName = append(q.Loads[i].FlagsByName, f.NameCount)
		}
	}
	return nil
}

func (sn *Snapshot) qualityDays(ctx context.Context, q *Quality) error {
	rows, err := sn.tx.Query(ctx, qualityDaysSQL)
	if err != nil {
		return err
	}
	q.Days, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (DayQuality, error) {
		var d DayQuality
		err := row.Scan(&d.Day, &d.Versions)
		d.Day = d.Day.UTC()
		return d, err
	})
	if err != nil {
		return err
	}
	flags, err := keyedCounts[time.Time](ctx, sn.tx, qualityDayFlagsSQL)
	if err != nil {
		return err
	}
	// Both lists are by day ascending: walk them together.
	i := 0
	for _, f := range flags {
		for i < len(q.Days) && q.Days[i].Day.Before(f.key.UTC()) {
			i++
		}
		if i < len(q.Days) && q.Days[i].Day.Equal(f.key.UTC()) {
			q.Days[i].FlagsByName = append(q.Days[i].FlagsByName, f.NameCount)
		}
	}
	return nil
}

func (sn *Snapshot) qualityChats(ctx context.Context, q *Quality) error {
	rows, err := sn.tx.Query(ctx, qualityMessagesPerChatSQL)
	if err != nil {
		return err
	}
	q.MessagesPerChat, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (Distribution, error) {
		var d Distribution
		err := row.Scan(&d.Value, &d.Chats)
		return d, err
	})
	if err != nil {
		return err
	}
	if q.ChatsByLanguage, err = nameCounts(ctx, sn.tx, qualityLanguagesSQL); err != nil {
		return err
	}
	rows, err = sn.tx.Query(ctx, qualityHoursSQL)
	if err != nil {
		return err
	}
	var hour int
	var n int64
	if _, err := pgx.ForEachRow(rows, []any{&hour, &n}, func() error {
		if hour >= 0 && hour < 24 {
			q.ChatsByHour[hour] = n
		}
		return nil
	}); err != nil {
		return err
	}
	return sn.tx.QueryRow(ctx, qualityRejectsSQL).Scan(&q.Rejects)
}

func keyedCounts[K any](ctx context.Context, tx pgx.Tx, sql string) ([]keyedCount[K], error) {
	rows, err := tx.Query(ctx, sql)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (keyedCount[K], error) {
		var k keyedCount[K]
		err := row.Scan(&k.key, &k.Name, &k.Count)
		return k, err
	})
}
