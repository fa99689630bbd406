package htmlreport

import "time"

// Data is everything the report shows. The caller fills it from the
// database; Render neither sorts nor checks it beyond what drawing needs.
type Data struct {
	GeneratedAt time.Time // UTC
	LastLoadID  int64
	// Loads holds every load, oldest first. There may be thousands: the
	// bar charts show the last MaxBars and say so.
	Loads []Load
	// Days holds the quality flags by the data's own day (by updated_at),
	// oldest first.
	Days []Day
	// MessagesPerChat is a histogram of messages per current chat, its
	// buckets in order (e.g. "0", "1", "2", "3-4", "5-9", "10-19", "20+").
	MessagesPerChat []Bucket
	// ChatsByLanguage counts current chats by language, descending.
	ChatsByLanguage []NameCount
	// ChatsByHour counts current chats by the hour of created_at (UTC).
	ChatsByHour [24]int64
	Totals      Totals
}

// Load is one run of ingest over one file.
type Load struct {
	LoadID         int64
	Source, Status string // Status: succeeded, failed or running
	StartedAt      time.Time
	FinishedAt     *time.Time // nil while running

	RowsRead, RowsRejected, RowsSuppressed int64

	ChatsInserted, ChatsUpdated, ChatsUnchanged, ChatsStale, ChatsRetired int64

	MessagesWritten int64
	// RejectsByReason counts this load's rejects by reason code.
	RejectsByReason []NameCount
	// FlagsByName counts, for each quality flag, the chat versions of this
	// load carrying it.
	FlagsByName []NameCount
	// Error is why a failed load failed.
	Error string
}

// Day is the quality flags of the chat versions of one day (UTC) of the
// data's own updated_at.
type Day struct {
	Day         time.Time
	Versions    int64 // chat versions of that day, flagged or not
	FlagsByName []NameCount
}

// Bucket is one bar of a histogram.
type Bucket struct {
	Label string
	Count int64
}

// NameCount is a count under a name: a reason code, a flag, a language.
type NameCount struct {
	Name  string
	Count int64
}

// Totals are the summary numbers at the top of the page.
type Totals struct {
	Chats, Messages, Rejects, OpenRejects, Retired, Erased, Suppressed int64
}
