package store

// Internals for the tests of package store_test, which cannot be package
// store: they need internal/dbtest, which imports store.

// DeclaredColumns returns each COPY-written table's declared columns as
// "name type" lines, by table ("staging.chats", "incoming", ...).
func DeclaredColumns() map[string][]string {
	out := map[string][]string{}
	add := func(name string, cols []string) { out[name] = cols }
	add("staging.chat_versions", declaredOf(chatVersionsTable))
	add("staging.chats", declaredOf(chatsTable))
	add("staging.messages", declaredOf(messagesTable))
	add("incoming", declaredOf(incomingTable))
	add("incoming_messages", declaredOf(incomingMessagesTable))
	add("incoming_keys", declaredOf(incomingKeysTable))
	add("known_first", declaredOf(knownFirstTable))
	add("incoming_rejects", declaredOf(incomingRejectsTable))
	return out
}

func declaredOf[R any](t *table[R]) []string {
	out := make([]string, len(t.columns))
	for i, c := range t.columns {
		out[i] = c.name + " " + c.sqlType
	}
	return out
}

// LoadTablesDDL is loadTablesDDL.
var LoadTablesDDL = loadTablesDDL
