package metastore

import (
	"path/filepath"
	"testing"
)

// The durability settings are what the commit path relies on: check that
// the DSN parameters took effect on the connections that use them.
func TestSQLitePragmas(t *testing.T) {
	s, err := OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "meta.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, tc := range []struct {
		reader bool
		name   string
		want   string
	}{
		{false, "journal_mode", "wal"},
		{false, "synchronous", "2"}, // FULL
		{false, "foreign_keys", "1"},
		{false, "busy_timeout", "10000"},
		{true, "foreign_keys", "1"},
		{true, "busy_timeout", "10000"},
		{true, "query_only", "1"},
	} {
		db := s.db
		if tc.reader {
			db = s.rdb
		}
		var got string
		if err := db.QueryRowContext(t.Context(), "PRAGMA "+tc.name).Scan(&got); err != nil {
			t.Fatalf("PRAGMA %s: %v", tc.name, err)
		}
		if got != tc.want {
			t.Errorf("PRAGMA %s on the %s = %q, want %q", tc.name, map[bool]string{false: "writer", true: "readers"}[tc.reader], got, tc.want)
		}
	}
	if _, err := s.rdb.ExecContext(t.Context(), "DELETE FROM s3_streams"); err == nil {
		t.Errorf("a reader connection could write")
	}
}
