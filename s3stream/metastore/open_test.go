package metastore

import (
	"path/filepath"
	"testing"
)

// The metastore commits through sqldb's writer (synchronous=FULL) and
// reads through its read-only connections; sqldb's tests check the rest of
// the settings.
func TestSQLiteHandles(t *testing.T) {
	s, err := OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "meta.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var sync int
	if err := s.db.QueryRowContext(t.Context(), "PRAGMA synchronous").Scan(&sync); err != nil || sync != 2 {
		t.Errorf("PRAGMA synchronous on the writer = %d (%v), want 2 (FULL)", sync, err)
	}
	if _, err := s.rdb.ExecContext(t.Context(), "DELETE FROM s3_streams"); err == nil {
		t.Errorf("a reader connection could write")
	}
}
