// Package chatgen generates realistic source_chat_data.csv files of any
// size, for the bundled sample, benchmarks and load tests. The JSON is
// written as Python's json.dumps writes it (", " separators, non-ASCII as
// \u escapes, emoji as surrogate pairs), like the platform's exports.
package chatgen

import (
	"encoding/csv"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
)

var (
	countries = []string{"Spanje", "Griekenland", "Turkije", "Italië", "Portugal", "Curaçao", "Côte d'Ivoire", "België", "Frankrijk", "Kroatië"}
	cities    = []string{"Málaga", "Heraklion", "Antalya", "Napels", "Faro", "Willemstad", "Zürich", "Kraków", "Nice", "Split"}
	brands    = []string{"Zoover", "Sunweb", "TUI", "Corendon", "D-reizen"}
	names     = []string{"Lotte", "Daan", "Émilie", "Sem", "Zoë", "Björn", "Anouk", "Jürgen"}
	userLines = []string{
		"Ik wil in juli naar %s, wat raad je aan?",
		"Hebben jullie iets all-inclusive in %s voor 2 volwassenen en 2 kinderen?",
		"Wat kost een week %s in de herfstvakantie? 😀",
		"Is het in %s warm genoeg om te zwemmen in oktober?",
		"Kan ik mijn boeking naar %s nog annuleren, \"gratis\"?",
	}
	botLines = []string{
		"Goede keuze! %s is in die periode heerlijk: gemiddeld 28°C en weinig regen.",
		"Voor %s heb ik een paar tips:\n1. Kies een hotel aan het strand\n2. Boek vroeg 🏖️",
		"Zeker! In %s zijn er veel gezinsvriendelijke resorts, prijzen vanaf €650 p.p.",
		"Dat hangt af van de voorwaarden van je boeking; kijk op <a href=\"/mijn-boeking\">Mijn boeking</a> & bel ons.",
	}
)

// pyString writes s as Python's json.dumps does with ensure_ascii=True.
func pyString(b *strings.Builder, s string) {
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r > 0x7e:
			if r > 0xffff {
				r1, r2 := utf16.EncodeRune(r)
				fmt.Fprintf(b, `\u%04x\u%04x`, r1, r2)
			} else {
				fmt.Fprintf(b, `\u%04x`, r)
			}
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
}

func uuid(r *rand.Rand) string {
	return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", r.Uint32(), r.Uint32()&0xffff, 0x4000|r.Uint32()&0x0fff,
		0x8000|r.Uint32()&0x3fff, r.Uint64()&0xffffffffffff)
}

func pick(r *rand.Rand, xs []string) string { return xs[r.IntN(len(xs))] }

// Options say what to generate.
type Options struct {
	Chats  int     // number of chats
	Seed   uint64  // the same seed gives the same chats
	Change float64 // fraction of chats written as a newer version
	// OnlyChanged writes only the chats Change makes newer, as a platform
	// that exports what changed since the last night would: each chat is
	// the same as in the file of every chat with the same Seed and Change.
	OnlyChanged bool
}

// Generate writes a source file with a header and opts.Chats rows (only
// the changed ones with opts.OnlyChanged). Chat i depends only on Seed, i
// and Change, so the first N chats of a larger file are those of a file of
// N chats.
func Generate(w io.Writer, opts Options) error {
	n, seed, change := opts.Chats, opts.Seed, opts.Change
	cw := csv.NewWriter(w)
	cw.Write([]string{"chat_id", "slug", "token", "organization_id", "conversation_log", "structured_info",
		"created_at", "updated_at", "language", "is_test_chat", "sentiment", "resolution", "message_count"})
	base := time.Date(2025, 5, 28, 12, 0, 0, 0, time.UTC)
	for i := 0; i < n; i++ {
		r := rand.New(rand.NewPCG(seed, uint64(i)))
		changed := rand.New(rand.NewPCG(seed^0x9e3779b97f4a7c15, uint64(i))).Float64() < change
		if opts.OnlyChanged && !changed {
			continue
		}
		id := strconv.Itoa(5500000 + i)
		created := base.Add(time.Duration(i)*37*time.Second + time.Duration(r.IntN(1e6))*time.Microsecond)
		updated := created.Add(time.Duration(r.IntN(3600e6)) * time.Microsecond)
		// About four messages a chat on average, as in the platform's data,
		// with a long tail up to twenty.
		msgs := 1 + r.IntN(6)
		if r.IntN(20) == 0 {
			msgs = 7 + r.IntN(14)
		}
		if changed {
			updated = updated.Add(24 * time.Hour)
			msgs++
		}
		country, city := pick(r, countries), pick(r, cities)
		var log strings.Builder
		log.WriteByte('[')
		for m := 0; m < msgs; m++ {
			if m > 0 {
				log.WriteString(", ")
			}
			role, typ, content := "assistant", "default", "Hallo, ik ben Vera, jouw online reisassistent! Waarmee kan ik je helpen?"
			switch {
			case m > 0 && m%2 == 1:
				role, content = "user", fmt.Sprintf(pick(r, userLines), city)
			case m > 0:
				typ, content = "recommendation", fmt.Sprintf(pick(r, botLines), country)
			}
			log.WriteString(`{"id": `)
			pyString(&log, uuid(r))
			log.WriteString(`, "role": `)
			pyString(&log, role)
			log.WriteString(`, "type": `)
			pyString(&log, typ)
			log.WriteString(`, "content": `)
			pyString(&log, content)
			if m == 0 {
				log.WriteString(`, "disclaimer": `)
				pyString(&log, "Vera gebruikt AI voor haar antwoorden en kan fouten maken. Je gegevens worden verwerkt volgens ons privacybeleid.")
			} else {
				log.WriteString(`, "disclaimer": null`)
			}
			if typ == "recommendation" {
				log.WriteString(`, "intentType": "travel_advice", "categories": [`)
				pyString(&log, "hotel")
				log.WriteString(`, `)
				pyString(&log, "beach")
				log.WriteString(`], "current_brands": `)
				pyString(&log, pick(r, brands))
				log.WriteString(`, "regions": [`)
				pyString(&log, country)
				log.WriteString(`]`)
			}
			log.WriteByte('}')
		}
		log.WriteByte(']')
		var info strings.Builder
		info.WriteString(`{"actions": ["get_in_touch"], "countries": [`)
		pyString(&info, country)
		info.WriteString(`], "cities": `)
		pyString(&info, city)
		if r.IntN(3) == 0 {
			info.WriteString(`, "first_name": `)
			pyString(&info, pick(r, names))
			info.WriteString(`, "email": `)
			pyString(&info, "reiziger"+id+"@example.org")
			info.WriteString(`, "is_reviewed": false, "pois": [3, 4.50]`)
		}
		info.WriteString(`, "starting_domain": "zoover.nl"}`)
		sentiment, resolution := "", ""
		if r.IntN(4) == 0 {
			sentiment, resolution = "positive", "resolved"
		}
		ts := func(t time.Time) string { return t.Format("2006-01-02T15:04:05.000000") }
		if err := cw.Write([]string{id, "slug_" + strconv.Itoa(r.IntN(1e5)), "token_" + strconv.Itoa(r.IntN(1e5)), "17",
			log.String(), info.String(), ts(created), ts(updated), "nl", "", sentiment, resolution, strconv.Itoa(msgs)}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// Monsters are the hostile inputs of the memory bound (docs/performance.md):
// records that a real export never has, which ingest must reject or load
// without memory beyond 2 × --max-field-bytes + 100 MB.
var Monsters = map[string]string{
	"field":    "one conversation_log of 200 MB (over the cap: rejected)",
	"messages": "one conversation_log of 10,000,000 tiny messages (40 MB: rejected)",
	"big":      "one conversation_log of 31 MB, one message (under the cap: loaded)",
	"bigs":     "six conversation_logs of 30 MB each (under the cap: loaded)",
}

// Monster writes the monster input kind (a key of Monsters).
func Monster(w io.Writer, kind string) error {
	bw, ok := w.(interface {
		io.Writer
		io.StringWriter
	})
	if !ok {
		return fmt.Errorf("chatgen: a monster needs a writer that writes strings")
	}
	header := "chat_id,updated_at,conversation_log\n"
	longLog := func(id string, size int) {
		bw.WriteString(id + `,2025-07-01T08:00:00,"[{""content"": ""`)
		chunk := strings.Repeat("y", 1<<20)
		for left := size; left > 0; left -= len(chunk) {
			bw.WriteString(chunk[:min(left, len(chunk))])
		}
		bw.WriteString(`""}]"` + "\n")
	}
	bw.WriteString(header)
	switch kind {
	case "field":
		longLog("M-1", 200<<20)
	case "messages":
		bw.WriteString(`M-1,2025-07-01T08:00:00,"[`)
		for i := range 10_000_000 {
			if i > 0 {
				bw.WriteString(", ")
			}
			bw.WriteString("{}")
		}
		bw.WriteString(`]"` + "\n")
	case "big":
		longLog("M-1", 31<<20)
	case "bigs":
		for i := range 6 {
			longLog(fmt.Sprintf("M-%d", i), 30<<20)
		}
	default:
		return fmt.Errorf("chatgen: no monster %q", kind)
	}
	_, err := bw.WriteString("M-end,2025-07-01T08:00:00,[]\n")
	return err
}
