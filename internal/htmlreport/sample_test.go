package htmlreport

import (
	"time"
)

// sampleData is a fixed, made-up report big enough to exercise every part
// of the page: more loads and days than a chart shows, a failed load and a
// running one, every reject reason and flag plus one code the package does
// not know, a gap in the days, more languages than get a bar, and a chat
// language with no name. It is the golden file's input and the browser
// test's page. Its numbers come from a fixed formula, not a random source,
// so they are the same on every machine and Go version.
func sampleData() Data {
	// noise returns a number in [0, n) from two small integers.
	noise := func(i, k int, n int64) int64 {
		x := uint64(i)*0x9E3779B97F4A7C15 + uint64(k)*0xBF58476D1CE4E5B9
		x ^= x >> 31
		x *= 0x94D049BB133111EB
		x ^= x >> 29
		return int64(x % uint64(n))
	}
	start := time.Date(2024, 3, 1, 2, 0, 0, 0, time.UTC)
	d := Data{
		GeneratedAt: time.Date(2024, 5, 16, 3, 12, 45, 0, time.UTC),
		LastLoadID:  74,
	}
	var rejects int64
	for i := 1; i <= 75; i++ {
		l := Load{
			LoadID:    int64(i),
			Source:    "/srv/exports/" + start.AddDate(0, 0, i-1).Format("2006-01-02") + "/source_chat_data.csv",
			Status:    "succeeded",
			StartedAt: start.AddDate(0, 0, i-1).Add(time.Duration(noise(i, 1, 600)) * time.Second),
		}
		took := time.Duration(40+noise(i, 2, 300)) * time.Second
		l.RowsRead = 3000 + noise(i, 3, 6000)
		l.ChatsInserted = 300 + noise(i, 4, 1200)
		l.ChatsUpdated = 900 + noise(i, 5, 3000)
		if i == 1 {
			l.Source = "/srv/exports/backfill/source_chat_data_2023.csv"
			l.RowsRead, l.ChatsInserted, l.ChatsUpdated = 121_873, 118_204, 0
			took = 14*time.Minute + 31*time.Second
		}
		l.ChatsUnchanged = l.RowsRead - l.ChatsInserted - l.ChatsUpdated
		l.ChatsStale = noise(i, 6, 20)
		l.ChatsRetired = noise(i, 7, 5)
		l.RowsSuppressed = noise(i, 8, 3)
		l.MessagesWritten = (l.ChatsInserted + l.ChatsUpdated) * (6 + noise(i, 9, 5))
		for k, reason := range knownReasons {
			// Most loads have no rejects of a given reason; some have many.
			if noise(i, 10+k, 5) == 0 {
				l.RejectsByReason = append(l.RejectsByReason, NameCount{reason, 1 + noise(i, 20+k, 40)})
			}
		}
		if i == 66 {
			l.RejectsByReason = append(l.RejectsByReason, NameCount{"bom_in_header", 212})
		}
		for _, r := range l.RejectsByReason {
			l.RowsRejected += r.Count
		}
		for k, flag := range knownFlags {
			weight := []int64{8, 30, 4, 6, 3, 2, 2, 60, 250}[k]
			if c := noise(i, 30+k, weight*2) - weight/2; c > 0 {
				l.FlagsByName = append(l.FlagsByName, NameCount{flag, c})
			}
		}
		switch i {
		case 71:
			l.Status = "failed"
			l.Error = `COPY staging.incoming: ERROR: could not extend file "base/16384/2619": No space left on device (SQLSTATE 53100)`
			l.ChatsInserted, l.ChatsUpdated, l.ChatsUnchanged, l.MessagesWritten = 0, 0, 0, 0
			l.FlagsByName = nil
			took = 2*time.Minute + 3*time.Second
		case 73:
			l.Status = "failed"
			l.Error = "interrupted: the process was killed (its advisory lock was gone)"
			l.RowsRead, l.ChatsInserted, l.ChatsUpdated, l.ChatsUnchanged, l.MessagesWritten = 0, 0, 0, 0, 0
			l.RejectsByReason, l.RowsRejected, l.FlagsByName = nil, 0, nil
			took = 800 * time.Millisecond
		}
		if i != 75 {
			fin := l.StartedAt.Add(took)
			l.FinishedAt = &fin
		} else {
			l.Status = "running"
		}
		if l.Status == "succeeded" {
			rejects += l.RowsRejected
		}
		d.Loads = append(d.Loads, l)
	}

	dayStart := time.Date(2024, 2, 10, 0, 0, 0, 0, time.UTC)
	for i := range 96 {
		if i >= 80 && i < 83 {
			continue // an outage upstream: no versions those days
		}
		day := Day{Day: dayStart.AddDate(0, 0, i), Versions: 2000 + noise(i, 40, 4000)}
		for k, flag := range knownFlags {
			weight := []int64{5, 20, 3, 4, 2, 1, 1, 40, 160}[k]
			if c := noise(i, 50+k, weight*2) - weight/3; c > 0 {
				day.FlagsByName = append(day.FlagsByName, NameCount{flag, c})
			}
		}
		d.Days = append(d.Days, day)
	}

	d.MessagesPerChat = []Bucket{
		{"0", 1_204}, {"1", 3_377}, {"2", 5_610}, {"3-4", 12_048},
		{"5-9", 18_311}, {"10-19", 9_025}, {"20+", 2_107},
	}
	d.ChatsByLanguage = []NameCount{
		{"nl", 31_502}, {"en", 7_811}, {"de", 4_920}, {"fr", 2_305}, {"es", 1_410},
		{"it", 980}, {"", 842}, {"pl", 611}, {"tr", 402}, {"pt", 233},
		{"sv", 121}, {"da", 77}, {"el", 41}, {"hr", 19},
	}
	for h := range 24 {
		// Few chats at night, most in the evening, with a lunch bump.
		base := []int64{310, 180, 95, 60, 48, 70, 160, 520, 1210, 1890, 2210, 2480,
			2950, 2620, 2300, 2210, 2180, 2390, 2870, 3410, 3720, 3160, 1980, 880}[h]
		d.ChatsByHour[h] = base + noise(h, 60, 120)
	}
	var chats int64
	for _, l := range d.ChatsByLanguage {
		chats += l.Count
	}
	d.Totals = Totals{
		Chats: chats, Messages: 612_345, Rejects: rejects, OpenRejects: 37,
		Retired: 128, Erased: 4, Suppressed: 61,
	}
	return d
}
