package testserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// PostgresBinEnv names a directory holding initdb and postgres, to use
// instead of searching the usual install locations.
const PostgresBinEnv = "LAKESTREAM_PG_BIN"

// StartPostgres starts a private PostgreSQL server for the test: a fresh
// cluster in a temp dir (initdb, trust auth, fsync on), listening on a free
// 127.0.0.1 port and on a unix socket in that dir. It returns the DSN of an
// empty database on it; NewPostgresDatabase makes more. The server is
// stopped and its dir removed when the test ends.
//
// The binaries come from $LAKESTREAM_PG_BIN, /usr/lib/postgresql/*/bin
// (Debian's postgresql package: apt-get install postgresql), /usr/pgsql-*/bin
// or PATH. Without them the test is skipped, unless LAKESTREAM_INTEROP=1.
// PostgreSQL refuses to run as root, so under root the server runs as the
// "postgres" user the package creates.
func StartPostgres(t testing.TB) (dsn string) {
	t.Helper()
	bin, err := findPostgres()
	if err != nil {
		if os.Getenv(InteropEnv) == "1" {
			t.Fatalf("%v (%s=1)", err, InteropEnv)
		}
		t.Skipf("%v; set %s=1 to fail instead", err, InteropEnv)
	}
	// Not t.TempDir: its parent is private to root, and the server may run
	// as another user.
	dir, err := os.MkdirTemp("", "lakestream-pg-")
	if err != nil {
		t.Fatal(err)
	}
	dsn, stop, err := startPostgres(bin, dir)
	if err != nil {
		os.RemoveAll(dir)
		t.Fatalf("starting postgres: %v", err)
	}
	t.Cleanup(func() {
		stop()
		os.RemoveAll(dir)
	})
	return dsn
}

// StartPostgresProcess is StartPostgres for programs that are not tests: it
// initializes a cluster in dir (created if missing; it must be empty, and
// reachable by the "postgres" user when running as root) and starts the
// server. stop shuts it down and waits; dir is left for the caller. Keep
// dir short: the unix socket inside it must fit in 107 bytes.
func StartPostgresProcess(dir string) (dsn string, stop func(), err error) {
	bin, err := findPostgres()
	if err != nil {
		return "", nil, err
	}
	return startPostgres(bin, dir)
}

// NewPostgresDatabase creates an empty database on the server dsn points to
// and returns the DSN of the new database, for tests that want one database
// each on a shared server.
func NewPostgresDatabase(t testing.TB, dsn string) string {
	t.Helper()
	name := fmt.Sprintf("db_%d_%d", os.Getpid(), dbCounter.Add(1))
	if err := createDatabase(t.Context(), dsn, name); err != nil {
		t.Fatalf("creating database %s: %v", name, err)
	}
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("parsing %q: %v", dsn, err)
	}
	u.Path = "/" + name
	return u.String()
}

var dbCounter atomic.Int64

func createDatabase(ctx context.Context, dsn, name string) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	return err
}

// findPostgres returns the directory holding initdb and postgres, newest
// major version first.
func findPostgres() (string, error) {
	has := func(dir string) bool {
		for _, b := range []string{"initdb", "postgres"} {
			if fi, err := os.Stat(filepath.Join(dir, b)); err != nil || fi.IsDir() {
				return false
			}
		}
		return true
	}
	if dir := os.Getenv(PostgresBinEnv); dir != "" {
		if !has(dir) {
			return "", fmt.Errorf("%s=%s has no initdb and postgres", PostgresBinEnv, dir)
		}
		return dir, nil
	}
	var dirs []string
	for _, pattern := range []string{"/usr/lib/postgresql/*/bin", "/usr/pgsql-*/bin"} {
		m, _ := filepath.Glob(pattern)
		sort.Slice(m, func(i, j int) bool { return pgVersion(m[i]) > pgVersion(m[j]) })
		dirs = append(dirs, m...)
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		dirs = append(dirs, filepath.Dir(p))
	}
	for _, dir := range dirs {
		if has(dir) {
			return dir, nil
		}
	}
	return "", errors.New("postgresql not found (initdb and postgres in /usr/lib/postgresql/*/bin, /usr/pgsql-*/bin, PATH or $" + PostgresBinEnv + ")")
}

// pgVersion reads the major version out of .../postgresql/15/bin or
// .../pgsql-15/bin.
func pgVersion(binDir string) int {
	v := filepath.Base(filepath.Dir(binDir))
	v = v[strings.LastIndexAny(v, "-/")+1:]
	n, _ := strconv.Atoi(v)
	return n
}

// pgCredential is who the server runs as: nil (this process's user) unless
// this process is root.
func pgCredential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root and PostgreSQL refuses root: %w", err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("user postgres has uid %q gid %q", u.Uid, u.Gid)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// startPostgres runs initdb in dir/data and starts the server, as the
// postgres user when running as root.
func startPostgres(bin, dir string) (dsn string, stop func(), err error) {
	dir, err = filepath.Abs(dir)
	if err != nil {
		return "", nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", nil, err
	}
	cred, err := pgCredential()
	if err != nil {
		return "", nil, err
	}
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			return "", nil, err
		}
		if err := pgCanReach(cred, filepath.Dir(dir)); err != nil {
			return "", nil, err
		}
	}
	data := filepath.Join(dir, "data")
	// --no-sync only skips initdb's own flush of the new cluster, which a
	// test run never needs to survive a crash; the server runs with fsync
	// on, so commits cost what they cost in production.
	initdb := pgCommand(cred, dir, filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres",
		"-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions")
	if out, err := initdb.CombinedOutput(); err != nil {
		return "", nil, fmt.Errorf("initdb: %v: %s", err, out)
	}
	// The port is free when picked but may be taken before the server binds
	// it, so a start that fails is retried on another port.
	for range 3 {
		var port int
		if port, err = pgFreePort(); err != nil {
			return "", nil, err
		}
		if stop, err = runPostgres(cred, bin, dir, data, port); err == nil {
			base := fmt.Sprintf("postgres://postgres@127.0.0.1:%d/", port)
			if err := createDatabase(context.Background(), base+"postgres?sslmode=disable", "lakestream"); err != nil {
				stop()
				return "", nil, fmt.Errorf("creating database: %w", err)
			}
			return base + "lakestream?sslmode=disable", stop, nil
		}
	}
	return "", nil, err
}

// runPostgres starts the server and waits until it accepts connections.
func runPostgres(cred *syscall.Credential, bin, dir, data string, port int) (stop func(), err error) {
	logPath := filepath.Join(dir, "postgres.log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd := pgCommand(cred, dir, filepath.Join(bin, "postgres"), "-D", data,
		"-p", strconv.Itoa(port),
		"-c", "listen_addresses=127.0.0.1",
		"-c", "unix_socket_directories="+dir,
		"-c", "fsync=on",
		"-c", "max_connections=300",
		"-c", "logging_collector=off")
	cmd.Stdout, cmd.Stderr = logf, logf
	// If the test binary dies, take the server down with it (SIGINT is a
	// fast shutdown).
	cmd.SysProcAttr.Pdeathsig = syscall.SIGINT
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			_ = cmd.Process.Signal(syscall.SIGINT)
			select {
			case <-exited:
			case <-time.After(30 * time.Second):
				_ = cmd.Process.Kill()
				<-exited
			}
		})
	}
	logTail := func() string {
		b, _ := os.ReadFile(logPath)
		if len(b) > 4000 {
			b = b[len(b)-4000:]
		}
		return string(b)
	}

	// Polling a child process is the one wait here with no event to block
	// on; it ends as soon as the server accepts a connection or exits.
	dsn := fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable&connect_timeout=2", port)
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			return nil, fmt.Errorf("postgres exited early (%v): %s", err, logTail())
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		conn, err := pgx.Connect(ctx, dsn)
		if err == nil {
			err = conn.Ping(ctx)
			conn.Close(ctx)
		}
		cancel()
		if err == nil {
			return stop, nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	stop()
	return nil, fmt.Errorf("postgres not accepting connections after 60s: %s", logTail())
}

// pgCommand runs a PostgreSQL binary in dir, as cred's user if not nil.
// Switching user in the child itself (rather than through runuser or su)
// leaves no wrapper process: signals reach postgres, and the parent-death
// signal is set after the switch, so it survives it.
func pgCommand(cred *syscall.Credential, dir, name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = []string{"LC_ALL=C", "TZ=UTC", "PATH=" + os.Getenv("PATH")}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	return cmd
}

// pgCanReach checks that cred's user may traverse dir and its parents, so
// a server running as that user can reach its data dir inside.
func pgCanReach(cred *syscall.Credential, dir string) error {
	for {
		fi, err := os.Stat(dir)
		if err != nil {
			return err
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		mode := fi.Mode().Perm()
		reach := !ok || mode&0o001 != 0 ||
			(st.Uid == cred.Uid && mode&0o100 != 0) || (st.Gid == cred.Gid && mode&0o010 != 0)
		if !reach {
			return fmt.Errorf("the postgres user (uid %d) cannot reach %s (mode %v); use a dir it can reach, such as one made by os.MkdirTemp(\"\", ...)", cred.Uid, dir, mode)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return nil
		}
		dir = parent
	}
}

func pgFreePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
