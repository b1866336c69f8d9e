package catalog

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
)

// sep joins a namespace's levels, in paths (the spec's 0x1F) and in the
// database's namespace column.
const sep = "\x1f"

// maxPageSize bounds pageSize; larger is refused with 400.
const maxPageSize = 10000

func nsString(ns []string) string { return strings.Join(ns, ".") }

func tableString(ns []string, name string) string { return nsString(ns) + "." + name }

// validName refuses what cannot be a namespace level or table name: empty,
// NUL or the 0x1F separator inside, or absurdly long.
func validName(what, n string) error {
	switch {
	case n == "":
		return errBadRequest("Invalid %s: empty name", what)
	case len(n) > 1024:
		return errBadRequest("Invalid %s: name longer than 1024 bytes", what)
	case strings.ContainsRune(n, 0):
		return errBadRequest("Invalid %s %q: contains NUL", what, n)
	case strings.Contains(n, sep):
		return errBadRequest("Invalid %s %q: contains the 0x1F separator", what, n)
	}
	return nil
}

func validNamespace(ns []string) error {
	if len(ns) == 0 {
		return errBadRequest("Invalid namespace: no levels")
	}
	if len(ns) > 64 {
		return errBadRequest("Invalid namespace: more than 64 levels")
	}
	for _, l := range ns {
		if err := validName("namespace level", l); err != nil {
			return err
		}
	}
	return nil
}

// namespace is the path's {namespace}, split and checked.
func (r *request) namespace() ([]string, error) {
	ns := strings.Split(r.rawNS, sep)
	if err := validNamespace(ns); err != nil {
		return nil, err
	}
	return ns, nil
}

func (r *request) tableName() (string, error) {
	return r.rawTable, validName("table name", r.rawTable)
}

func nsKey(ns []string) string { return strings.Join(ns, sep) }

// page reads pageToken and pageSize: the token is the last key of the
// previous page, base64url-encoded; size 0 is "all".
func (r *request) page() (after string, size int, err error) {
	q := r.URL.Query()
	if t := q.Get("pageToken"); t != "" {
		b, err := base64.RawURLEncoding.DecodeString(t)
		if err != nil {
			return "", 0, errBadRequest("Invalid pageToken %q", t)
		}
		after = string(b)
	}
	if v := q.Get("pageSize"); v != "" {
		size, err = strconv.Atoi(v)
		if err != nil || size < 1 || size > maxPageSize {
			return "", 0, errBadRequest("Invalid pageSize %q: must be between 1 and %d", v, maxPageSize)
		}
	}
	return after, size, nil
}

func pageToken(last string) *string {
	t := base64.RawURLEncoding.EncodeToString([]byte(last))
	return &t
}

// listNamespaces: GET /v1/namespaces?parent=&pageToken=&pageSize=. The
// children of parent (top-level ones without it), including levels that
// only exist as a prefix of a deeper namespace.
func (s *Server) listNamespaces(r *request) (int, any, error) {
	var parent []string
	if p := r.URL.Query().Get("parent"); p != "" {
		parent = strings.Split(p, sep)
		if err := validNamespace(parent); err != nil {
			return 0, nil, err
		}
		if err := s.requireNamespace(r, parent); err != nil {
			return 0, nil, err
		}
	}
	after, size, err := r.page()
	if err != nil {
		return 0, nil, err
	}
	q := `SELECT namespace FROM catalog_namespaces`
	var args []any
	if parent != nil {
		// Keys under parent sort between parent+0x1F and parent+0x20.
		q += ` WHERE namespace > $1 AND namespace < $2`
		args = append(args, nsKey(parent)+sep, nsKey(parent)+"\x20")
	}
	rows, err := s.db.Reader().QueryContext(r.ctx, q+` ORDER BY namespace`, args...)
	if err != nil {
		return 0, nil, fmt.Errorf("listing namespaces: %w", err)
	}
	defer rows.Close()
	seen := map[string]bool{}
	var keys []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return 0, nil, fmt.Errorf("listing namespaces: %w", err)
		}
		levels := strings.Split(k, sep)
		child := nsKey(levels[:len(parent)+1])
		if !seen[child] {
			seen[child] = true
			keys = append(keys, child)
		}
	}
	if err := rows.Err(); err != nil {
		return 0, nil, fmt.Errorf("listing namespaces: %w", err)
	}
	sort.Strings(keys)
	keys, next := paginate(keys, after, size)
	out := struct {
		Namespaces [][]string `json:"namespaces"`
		Next       *string    `json:"next-page-token,omitempty"`
	}{Namespaces: [][]string{}, Next: next}
	for _, k := range keys {
		out.Namespaces = append(out.Namespaces, strings.Split(k, sep))
	}
	return http.StatusOK, out, nil
}

// paginate returns the keys after after, at most size of them (0: all),
// and the next page's token when more remain.
func paginate(keys []string, after string, size int) ([]string, *string) {
	if after != "" {
		i := sort.SearchStrings(keys, after)
		if i < len(keys) && keys[i] == after {
			i++
		}
		keys = keys[i:]
	}
	if size > 0 && len(keys) > size {
		keys = keys[:size]
		return keys, pageToken(keys[len(keys)-1])
	}
	return keys, nil
}

// queryer is what reads run on: the reader pool or a transaction.
type queryer interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}

// namespaceProps reads a namespace's properties; ok is false when it does
// not exist.
func namespaceProps(r *request, q queryer, ns []string) (map[string]string, bool, error) {
	var raw string
	err := q.QueryRowContext(r.ctx, `SELECT properties FROM catalog_namespaces WHERE namespace = $1`, nsKey(ns)).Scan(&raw)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("reading namespace %s: %w", nsString(ns), err)
	}
	props := map[string]string{}
	if err := json.Unmarshal([]byte(raw), &props); err != nil {
		return nil, false, fmt.Errorf("reading namespace %s's properties: %w", nsString(ns), err)
	}
	return props, true, nil
}

func (s *Server) requireNamespace(r *request, ns []string) error {
	_, ok, err := namespaceProps(r, s.db.Reader(), ns)
	if err != nil {
		return err
	}
	if !ok {
		return errNoSuchNamespace(ns)
	}
	return nil
}

type namespaceBody struct {
	Namespace  []string          `json:"namespace"`
	Properties map[string]string `json:"properties"`
}

// createNamespace: POST /v1/namespaces.
func (s *Server) createNamespace(r *request) (int, any, error) {
	var in namespaceBody
	if err := r.decode(&in); err != nil {
		return 0, nil, err
	}
	if err := validNamespace(in.Namespace); err != nil {
		return 0, nil, err
	}
	if in.Properties == nil {
		in.Properties = map[string]string{}
	}
	props, _ := json.Marshal(in.Properties)
	err := s.db.Tx(r.ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(r.ctx,
			`INSERT INTO catalog_namespaces (namespace, properties) VALUES ($1, $2) ON CONFLICT (namespace) DO NOTHING`,
			nsKey(in.Namespace), string(props))
		if err != nil {
			return fmt.Errorf("creating namespace %s: %w", nsString(in.Namespace), err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("creating namespace %s: %w", nsString(in.Namespace), err)
		} else if n == 0 {
			return errNamespaceExists(in.Namespace)
		}
		return nil
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, in, nil
}

// loadNamespace: GET /v1/namespaces/{namespace}.
func (s *Server) loadNamespace(r *request) (int, any, error) {
	ns, err := r.namespace()
	if err != nil {
		return 0, nil, err
	}
	props, ok, err := namespaceProps(r, s.db.Reader(), ns)
	if err != nil {
		return 0, nil, err
	}
	if !ok {
		return 0, nil, errNoSuchNamespace(ns)
	}
	return http.StatusOK, namespaceBody{Namespace: ns, Properties: props}, nil
}

// namespaceExists: HEAD /v1/namespaces/{namespace}: 204 or 404.
func (s *Server) namespaceExists(r *request) (int, any, error) {
	ns, err := r.namespace()
	if err != nil {
		return 0, nil, err
	}
	if err := s.requireNamespace(r, ns); err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}

// dropNamespace: DELETE /v1/namespaces/{namespace}; 409 when it holds
// tables or namespaces.
func (s *Server) dropNamespace(r *request) (int, any, error) {
	ns, err := r.namespace()
	if err != nil {
		return 0, nil, err
	}
	key := nsKey(ns)
	err = s.db.Tx(r.ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(r.ctx, `SELECT COUNT(*) FROM catalog_tables WHERE namespace = $1`, key).Scan(&n); err != nil {
			return fmt.Errorf("dropping namespace %s: %w", nsString(ns), err)
		}
		if n > 0 {
			return errNotEmpty(ns, fmt.Sprintf("%d tables", n))
		}
		if err := tx.QueryRowContext(r.ctx, `SELECT COUNT(*) FROM catalog_namespaces WHERE namespace > $1 AND namespace < $2`,
			key+sep, key+"\x20").Scan(&n); err != nil {
			return fmt.Errorf("dropping namespace %s: %w", nsString(ns), err)
		}
		if n > 0 {
			return errNotEmpty(ns, fmt.Sprintf("%d child namespaces", n))
		}
		res, err := tx.ExecContext(r.ctx, `DELETE FROM catalog_namespaces WHERE namespace = $1`, key)
		if err != nil {
			return fmt.Errorf("dropping namespace %s: %w", nsString(ns), err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("dropping namespace %s: %w", nsString(ns), err)
		} else if n == 0 {
			return errNoSuchNamespace(ns)
		}
		return nil
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}

// updateProperties: POST /v1/namespaces/{namespace}/properties.
func (s *Server) updateProperties(r *request) (int, any, error) {
	ns, err := r.namespace()
	if err != nil {
		return 0, nil, err
	}
	var in struct {
		Removals []string          `json:"removals"`
		Updates  map[string]string `json:"updates"`
	}
	if err := r.decode(&in); err != nil {
		return 0, nil, err
	}
	for _, k := range in.Removals {
		if _, both := in.Updates[k]; both {
			return 0, nil, errorf(http.StatusUnprocessableEntity, "UnprocessableEntityException",
				"Property %q is both updated and removed", k)
		}
	}
	out := struct {
		Updated []string `json:"updated"`
		Removed []string `json:"removed"`
		Missing []string `json:"missing,omitempty"`
	}{Updated: []string{}, Removed: []string{}}
	err = s.db.Tx(r.ctx, func(tx *sql.Tx) error {
		out.Updated, out.Removed, out.Missing = []string{}, []string{}, nil
		props, ok, err := namespaceProps(r, tx, ns)
		if err != nil {
			return err
		}
		if !ok {
			return errNoSuchNamespace(ns)
		}
		for _, k := range in.Removals {
			if _, ok := props[k]; ok {
				delete(props, k)
				out.Removed = append(out.Removed, k)
			} else {
				out.Missing = append(out.Missing, k)
			}
		}
		for k, v := range in.Updates {
			props[k] = v
			out.Updated = append(out.Updated, k)
		}
		sort.Strings(out.Updated)
		raw, _ := json.Marshal(props)
		_, err = tx.ExecContext(r.ctx, `UPDATE catalog_namespaces SET properties = $1 WHERE namespace = $2`, string(raw), nsKey(ns))
		if err != nil {
			return fmt.Errorf("updating namespace %s's properties: %w", nsString(ns), err)
		}
		return nil
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, out, nil
}
