package parquetfile

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"
	"github.com/parquet-go/parquet-go/encoding"
)

// Deliverable names one of the two CSV deliverables of docs/rules.md section 4.
type Deliverable int

const (
	Chats    Deliverable = iota + 1 // chats.csv
	Messages                        // messages.csv
)

// String returns the deliverable's file name, chats.csv or messages.csv.
func (d Deliverable) String() string {
	if l := d.layout(); l != nil {
		return l.file
	}
	return "Deliverable(" + strconv.Itoa(int(d)) + ")"
}

// Header returns the deliverable's 47 column names, in the order of its CSV
// header and of its Parquet columns. It returns nil for an unknown value.
func (d Deliverable) Header() []string {
	l := d.layout()
	if l == nil {
		return nil
	}
	names := make([]string, len(l.columns))
	for i, c := range l.columns {
		names[i] = c.name
	}
	return names
}

func (d Deliverable) layout() *layout {
	switch d {
	case Chats:
		return chatsLayout
	case Messages:
		return messagesLayout
	}
	return nil
}

// The columns, declared once: the headers as docs/rules.md section 4 writes
// them, and the names of the columns that are not strings.
const (
	chatsHeader    = `locations,first name,user bypass messages limit,name,read only token,phone number,pois,is test chat,clientId,organizationConfigId,email,suborganization,provinces,starting domain,section type,is reviewed,limit messages case,sentiment,slug,is chat classified,ontraport update time,trip type,most relevant trip name,countries,chatId,email types,newsletter subscription time,language,last name,idle message sent time,resolution,token,subscription idle message sent time,is default chat,ontraport note id,actions,has email,most relevant brand name,created at,organizationId,recommendations cta url,updated at,idle email sent time,humanloop session id,defaultMessageId,is structured info extracted,cities`
	messagesHeader = `locations,messageSuborganization,user bypass messages limit,current brands,read only token,pois,is test chat,clientId,organizationConfigId,email,suborganization,provinces,role,starting domain,is reviewed,limit messages case,sentiment,intentType,slug,is chat classified,ontraport update time,trip type,regions,countries,chatId,newsletter subscription time,conversationLogType,language,idle message sent time,resolution,sk messageId,token,subscription idle message sent time,is default chat,messageId,categories,content,ontraport note id,created at,organizationId,updated at,idle email sent time,humanloop session id,defaultMessageId,is structured info extracted,themes,cities`
)

var (
	// boolColumns are the columns the export computes as booleans; those of
	// them that messages.csv lacks (has email) are simply not found there.
	// Columns copied from structured_info (is reviewed, ...) stay strings:
	// their source may hold anything.
	boolColumns   = []string{"is test chat", "is chat classified", "is default chat", "has email", "is structured info extracted"}
	timeColumns   = []string{"created at", "updated at"}
	chatsLists    = []string{"locations", "pois", "provinces", "section type", "trip type", "countries", "email types", "actions", "cities"}
	messagesLists = []string{"locations", "pois", "provinces", "trip type", "regions", "countries", "categories", "themes", "cities", "current brands"}

	chatsLayout    = newLayout("chats.csv", "chats", chatsHeader, chatsLists)
	messagesLayout = newLayout("messages.csv", "messages", messagesHeader, messagesLists)
)

// kind is how a column's CSV text becomes a Parquet value.
type kind uint8

const (
	kindString kind = iota // STRING
	kindBool               // BOOLEAN from true/false
	kindTime               // TIMESTAMP(MICROS, UTC) from 2025-05-28T12:55:10.546493Z
	kindList               // LIST<STRING> from a compact JSON array
)

type column struct {
	name string
	kind kind
}

// layout is one deliverable: its columns and their Parquet schema. Each
// column is one leaf of the schema, so a column's position in the header is
// also its Parquet column index.
type layout struct {
	file    string
	columns []column
	schema  *parquet.Schema
}

func newLayout(file, schemaName, header string, lists []string) *layout {
	l := &layout{file: file}
	kinds := make(map[string]kind)
	for _, n := range boolColumns {
		kinds[n] = kindBool
	}
	for _, n := range timeColumns {
		kinds[n] = kindTime
	}
	for _, n := range lists {
		kinds[n] = kindList
	}
	var root group
	for i, name := range strings.Split(header, ",") {
		c := column{name: name, kind: kinds[name]}
		l.columns = append(l.columns, c)
		root = append(root, &field{Node: c.node(), name: name, index: i})
	}
	l.schema = parquet.NewSchema(schemaName, root)
	return l
}

// node is the column's Parquet type. Every column is optional: an empty CSV
// field is NULL. A list's elements are optional too, for JSON null.
func (c column) node() parquet.Node {
	switch c.kind {
	case kindBool:
		return parquet.Optional(parquet.Leaf(parquet.BooleanType))
	case kindTime:
		return parquet.Optional(parquet.Timestamp(parquet.Microsecond))
	case kindList:
		return parquet.Optional(parquet.List(parquet.Optional(parquet.String())))
	}
	return parquet.Optional(parquet.String())
}

// Definition levels of a list column's leaf (optional list, repeated
// "list" group, optional element).
const (
	listNull        = 0 // the column is NULL
	listEmpty       = 1 // the list is there and has no element
	listNullElement = 2 // the element is JSON null
	listElement     = 3 // the element has a value
)

// group is a Parquet group whose fields keep the order they are given in.
// parquet.Group is a map and sorts its fields by name, which would put the
// columns out of the CSV header's order.
type group []parquet.Field

func (g group) ID() int                     { return 0 }
func (g group) Type() parquet.Type          { return parquet.Group{}.Type() }
func (g group) Optional() bool              { return false }
func (g group) Repeated() bool              { return false }
func (g group) Required() bool              { return true }
func (g group) Leaf() bool                  { return false }
func (g group) Fields() []parquet.Field     { return g }
func (g group) Encoding() encoding.Encoding { return nil }
func (g group) Compression() compress.Codec { return nil }
func (g group) GoType() reflect.Type        { return goStruct(g) }

func (g group) String() string {
	var b strings.Builder
	_ = parquet.PrintSchema(&b, "", g)
	return b.String()
}

// field is one column of a group. Its Value and the group's GoType serve
// parquet-go's reflection paths, which this package does not use (it writes
// parquet.Row values): they map the group onto a struct with one field per
// column, in order.
type field struct {
	parquet.Node
	name  string
	index int
}

func (f *field) Name() string                        { return f.name }
func (f *field) Value(v reflect.Value) reflect.Value { return fieldValue(v, f.index) }

func goStruct(g group) reflect.Type {
	fields := make([]reflect.StructField, len(g))
	for i, f := range g {
		fields[i] = reflect.StructField{
			Name: fmt.Sprintf("F%d", i),
			Type: f.GoType(),
			Tag:  reflect.StructTag(`parquet:` + strconv.Quote(f.Name())),
		}
	}
	return reflect.StructOf(fields)
}

func fieldValue(v reflect.Value, i int) reflect.Value {
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return reflect.Value{}
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct || i >= v.NumField() {
		return reflect.Value{}
	}
	return v.Field(i)
}
