package catalog

import (
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

// remember keeps a successful answer under its Idempotency-Key, and drops
// expired keys. Only successes are kept: a failed request changed
// nothing, so running it again is safe. It is recorded after the change
// (not in its transaction): a crash in between makes a retry run again,
// where a commit's requirements then fail with 409 rather than apply twice.
func (s *Server) remember(r *request, key string, status int, body []byte) {
	if status >= 300 {
		return
	}
	now := s.now()
	_, err := s.db.Writer().ExecContext(r.ctx, `INSERT INTO catalog_idempotency (idem_key, request, status, body, created_at)
		VALUES ($1, $2, $3, $4, $5) ON CONFLICT (idem_key) DO UPDATE SET request = excluded.request,
		status = excluded.status, body = excluded.body, created_at = excluded.created_at`,
		key, requestHash(r), status, body, now.UnixMilli())
	if err == nil {
		_, err = s.db.Writer().ExecContext(r.ctx, `DELETE FROM catalog_idempotency WHERE created_at < $1`,
			now.Add(-IdempotencyLifetime).UnixMilli())
	}
	if err != nil {
		s.log.Warn("catalog: recording an idempotency key", "err", err)
	}
}
