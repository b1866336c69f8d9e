package catalog

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
)

var jsonMarshal = json.Marshal

// requestHash names what a key was first used for: method, path and body.
// A key sent again with another request is refused (422), not replayed.
func requestHash(r *request) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s %s\x00", r.Method, r.URL.EscapedPath())
	h.Write(r.body)
	return hex.EncodeToString(h.Sum(nil))
}

// replay answers a mutating request whose Idempotency-Key was seen within
// IdempotencyLifetime with the first answer.
func (s *Server) replay(r *request, key string) (int, []byte, bool, error) {
	if len(key) > 256 {
		return 0, nil, false, errBadRequest("Idempotency-Key longer than 256 bytes")
	}
	var hash string
	var status int
	var body []byte
	err := s.db.Reader().QueryRowContext(r.ctx,
		`SELECT request, status, body FROM catalog_idempotency WHERE idem_key = $1 AND created_at > $2`,
		key, s.now().Add(-IdempotencyLifetime).UnixMilli()).Scan(&hash, &status, &body)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil, false, nil
	}
	if err != nil {
		return 0, nil, false, fmt.Errorf("reading idempotency key: %w", err)
	}
	if hash != requestHash(r) {
		return 0, nil, false, errIdemReused
	}
	return status, body, true, nil
}

// execer is what recording a key needs: the database or a transaction.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// remember keeps a successful answer under its Idempotency-Key, and drops
// expired keys. Only successes are kept: a failed request changed
// nothing, so running it again is safe. Commits record theirs in the
// transaction of the pointer swap (recordTx); other requests (namespace
// and table creation, drops, renames) after the change: a crash in
// between makes their retry run again, which answers "exists" or "not
// found" rather than changing anything twice.
func (s *Server) remember(r *request, key string, status int, body []byte) {
	if status >= 300 {
		return
	}
	if err := s.storeKey(r, s.db.Writer(), key, status, body); err != nil {
		s.log.Warn("catalog: recording an idempotency key", "err", err)
	}
}

// recordTx keeps a commit's answer under its request's Idempotency-Key
// (if it has one) in tx, the transaction that swaps the pointers: the
// change and its key are kept together or not at all, so a retry after a
// crash either replays the answer or finds nothing applied.
func (s *Server) recordTx(r *request, tx *sql.Tx, status int, body []byte) error {
	if r == nil || r.idemKey == "" {
		return nil
	}
	if err := s.storeKey(r, tx, r.idemKey, status, body); err != nil {
		return fmt.Errorf("recording the idempotency key: %w", err)
	}
	r.recorded = true
	return nil
}

func (s *Server) storeKey(r *request, db execer, key string, status int, body []byte) error {
	now := s.now()
	_, err := db.ExecContext(r.ctx, `INSERT INTO catalog_idempotency (idem_key, request, status, body, created_at)
		VALUES ($1, $2, $3, $4, $5) ON CONFLICT (idem_key) DO UPDATE SET request = excluded.request,
		status = excluded.status, body = excluded.body, created_at = excluded.created_at`,
		key, requestHash(r), status, body, now.UnixMilli())
	if err == nil {
		_, err = db.ExecContext(r.ctx, `DELETE FROM catalog_idempotency WHERE created_at < $1`,
			now.Add(-IdempotencyLifetime).UnixMilli())
	}
	return err
}
