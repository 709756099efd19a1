package testenv

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

const (
	redisStartTimeout = 30 * time.Second
	redisStopGrace    = 5 * time.Second
)

// RedisPassword is the password (requirepass) of every Redis server
// testenv starts: clients must authenticate, as with a real installation's.
const RedisPassword = "testenv-redis"

// Redis is a running redis-server (Debian's) with its own directory,
// listening on 127.0.0.1:Port only, no persistence, a password required.
type Redis struct {
	Host     string
	Port     int
	Password string
	Dir      string

	proc     *process
	stopOnce sync.Once
}

// StartRedis starts a private Redis server for t, stopped on t.Cleanup.
func StartRedis(t testing.TB) *Redis {
	t.Helper()
	bin := requireBinaries(t, binRedis)[0]
	return startOwn(t, "Redis", redisStartTimeout, func(ctx context.Context) (*Redis, error) {
		return retryStart(func() (*Redis, error) {
			dir, err := newStateDir("redis")
			if err != nil {
				return nil, err
			}
			r, err := launchRedis(ctx, bin, dir)
			if err != nil {
				removeStateDir(dir)
				return nil, err
			}
			return r, nil
		})
	})
}

func launchRedis(ctx context.Context, bin, dir string) (*Redis, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	r := &Redis{Host: "127.0.0.1", Port: port, Password: RedisPassword, Dir: dir}
	// Options on the command line, no config file: nothing of the machine's
	// /etc/redis is read.
	r.proc, err = startProcess(binRedis, filepath.Join(dir, "redis.log"), nil, bin,
		"--bind", "127.0.0.1",
		"--port", strconv.Itoa(port),
		"--dir", dir,
		"--save", "",
		"--appendonly", "no",
		"--daemonize", "no",
		"--requirepass", RedisPassword,
		"--logfile", "",
	)
	if err != nil {
		return nil, err
	}
	c := r.newClient(0)
	defer func() { _ = c.Close() }()
	if err := r.proc.waitReady(ctx, 50*time.Millisecond, func(ctx context.Context) error { return c.Ping(ctx).Err() }); err != nil {
		r.proc.stop(redisStopGrace)
		return nil, err
	}
	track(r)
	return r, nil
}

// Addr returns "127.0.0.1:<Port>".
func (r *Redis) Addr() string { return net.JoinHostPort(r.Host, strconv.Itoa(r.Port)) }

// URL is redis://127.0.0.1:<Port>/<db>, without the password.
func (r *Redis) URL(db int) string { return fmt.Sprintf("redis://%s/%d", r.Addr(), db) }

// Client is a client of database db, authenticated, closed on t.Cleanup.
func (r *Redis) Client(t testing.TB, db int) *redis.Client {
	c := r.newClient(db)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func (r *Redis) newClient(db int) *redis.Client {
	return redis.NewClient(&redis.Options{Addr: r.Addr(), Password: r.Password, DB: db,
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}})
}

// PID is the server process's id.
func (r *Redis) PID() int { return r.proc.pid() }

// LogTail returns the last n lines of the server log.
func (r *Redis) LogTail(n int) string { return r.proc.tail(n) }

// Stop shuts the server down and removes its files. It is idempotent.
func (r *Redis) Stop() {
	r.stopOnce.Do(func() {
		untrack(r)
		r.proc.stop(redisStopGrace)
		removeStateDir(r.Dir)
	})
}
