package migrate

// This file: Orca's pipeline executions, copied from the old installation's
// Redis into the new one's when both Orcas keep them in Redis (Orca's
// default). Incremental like the bucket copy: a record in the new Redis says
// what was copied and what it held, so the next run copies only what changed
// and deletes what the old Orca deleted, and leaves what the new Orca wrote
// alone.
//
// The layout is Orca's RedisExecutionRepository (spinnaker/orca,
// orca-redis/src/main/java/com/netflix/spinnaker/orca/pipeline/persistence/
// jedis/RedisExecutionRepository.java, read at 2fdb327a9), where <type> is
// pipeline or orchestration (ExecutionType.toString, lower case):
//
//	allJobs:<type>                  set: every execution id of that type
//	<type>:app:<application>        set: the ids of one application
//	<type>:<id>                     hash: the execution, its stages as stage.<stageId>.<field>
//	<type>:<id>:stageIndex          list: the stage ids in order
//	pipeline:executions:<configId>  sorted set: a pipeline's executions by build time ("---" without a config id)
//	<queue>:buffered:<type>         set: the BUFFERED ids (buffered:<type> when keiko.queue.redis.queueName
//	                                is empty; Orca's own orca.yml sets it to orca.task.queue)
//	correlation:<correlationId>     string: the id of the execution started for that correlation id
//
// Orca's work queue (keiko's <queue>.* keys), pending starts of pipelines
// that may not run concurrently (RedisPendingExecutionService:
// orca.pipeline.queue.<configId> lists) and locks are not copied: they are
// the old Orca's work in flight, not history.

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// Orca's execution types, as its Redis keys spell them.
var orcaExecutionTypes = []string{"pipeline", "orchestration"}

// OrcaQueueName is the keiko queue name Orca's own orca.yml sets
// (keiko.queue.redis.queueName), which prefixes the set of BUFFERED
// executions.
const OrcaQueueName = "orca.task.queue"

// The record of a copy, in the new Redis. Orca reads no key of this prefix.
const (
	orcaRecordSource     = "spinops:migrate:orca:source"
	orcaRecordExecutions = "spinops:migrate:orca:executions"
)

// orcaBatch is how many executions are read in one transaction.
const orcaBatch = 50

// OrcaRedisCopy is a copy of Orca's executions from one Redis to another.
type OrcaRedisCopy struct {
	From, To *redis.Client
	// FromName and ToName name the servers in messages and in the record
	// (address and database, never a password).
	FromName, ToName string
	// QueueName is the old Orca's keiko.queue.redis.queueName (default
	// OrcaQueueName; "" when it is set empty).
	QueueName string
	// Verify compares every execution in the new Redis with the old one
	// after the copy (for the last copy, with the old installation frozen).
	Verify   bool
	Progress Progress
}

// OrcaRedisResult is what a copy did.
type OrcaRedisResult struct {
	// Executions is how many the old Redis holds; Copied were written,
	// Unchanged were as the last run left them, Deleted were gone from the
	// old Redis and deleted from the new one.
	Executions, Copied, Unchanged, Deleted int
	// Correlations is how many correlation ids were copied.
	Correlations int
	// Bytes is the size of the executions copied (fields and values).
	Bytes int64
	// Unfinished lists the executions of the old Redis that had not
	// finished ("pipeline:<id> RUNNING"): the new Orca does not go on with
	// them (their work is in the old Orca's queue).
	Unfinished []string
	// Pending is how many pending starts the old Redis holds (not copied).
	Pending int64
	// Verified says every execution was compared in both Redis servers.
	Verified bool
	Duration time.Duration
}

func (r OrcaRedisResult) String() string {
	s := fmt.Sprintf("%d executions: %d copied (%d bytes), %d unchanged, %d deleted; %d correlation ids", r.Executions, r.Copied, r.Bytes, r.Unchanged, r.Deleted, r.Correlations)
	if r.Verified {
		s += "; every execution matches the old Redis"
	}
	s += " in " + r.Duration.Round(time.Millisecond).String()
	if n := len(r.Unfinished); n > 0 {
		s += fmt.Sprintf("; %d had not finished (copied as they are; the new Orca does not go on with them): %s", n, strings.Join(firstN(r.Unfinished, 5), ", "))
	}
	if r.Pending > 0 {
		s += fmt.Sprintf("; %d pending starts in the old Orca's queue were not copied", r.Pending)
	}
	return s
}

func firstN(s []string, n int) []string {
	if len(s) <= n {
		return s
	}
	return append(slices.Clip(s[:n]), fmt.Sprintf("and %d more", len(s)-n))
}

// orcaExecution is one execution as Redis holds it.
type orcaExecution struct {
	typ, id  string
	fields   map[string]string
	stages   []string
	buffered bool
	score    *float64 // in pipeline:executions:<configId>
	sum      string   // digest, once computed
}

func (e *orcaExecution) key() string { return e.typ + ":" + e.id }

// digest is a SHA-256 of the hash and the stage list, the parts Orca
// writes and reads as the execution (the index sets follow from them).
func (e *orcaExecution) digest() string {
	if e.sum == "" {
		e.sum = e.computeDigest()
	}
	return e.sum
}

func (e *orcaExecution) computeDigest() string {
	h := sha256.New()
	put := func(s string) {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	names := make([]string, 0, len(e.fields))
	for f := range e.fields {
		names = append(names, f)
	}
	sort.Strings(names)
	put(fmt.Sprint(len(names)))
	for _, f := range names {
		put(f)
		put(e.fields[f])
	}
	put(fmt.Sprint(len(e.stages)))
	for _, s := range e.stages {
		put(s)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func (e *orcaExecution) size() int64 {
	var n int64
	for f, v := range e.fields {
		n += int64(len(f) + len(v))
	}
	return n
}

// configKey is the sorted set of a pipeline's executions.
func (e *orcaExecution) configKey() string {
	id := e.fields["pipelineConfigId"]
	if id == "" {
		id = "---"
	}
	return "pipeline:executions:" + id
}

func (c OrcaRedisCopy) bufferedKey(typ string) string {
	if c.QueueName == "" {
		return "buffered:" + typ
	}
	return c.QueueName + ":buffered:" + typ
}

// readExecutions reads the executions named by keys ("<type>:<id>") from
// rc, each batch in one transaction so that no execution is read half
// written. An execution that is not there is nil.
func (c OrcaRedisCopy) readExecutions(ctx context.Context, rc *redis.Client, keys []string) ([]*orcaExecution, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	type reads struct {
		fields   *redis.MapStringStringCmd
		stages   *redis.StringSliceCmd
		buffered *redis.BoolCmd
	}
	rs := make([]reads, len(keys))
	if _, err := rc.TxPipelined(ctx, func(p redis.Pipeliner) error {
		for i, k := range keys {
			typ, id, _ := strings.Cut(k, ":")
			rs[i] = reads{p.HGetAll(ctx, k), p.LRange(ctx, k+":stageIndex", 0, -1), p.SIsMember(ctx, c.bufferedKey(typ), id)}
		}
		return nil
	}); err != nil {
		return nil, err
	}
	out := make([]*orcaExecution, len(keys))
	var scores []*redis.FloatCmd
	var scored []*orcaExecution
	pipe := rc.Pipeline()
	for i, k := range keys {
		if len(rs[i].fields.Val()) == 0 {
			continue
		}
		typ, id, _ := strings.Cut(k, ":")
		e := &orcaExecution{typ: typ, id: id, fields: rs[i].fields.Val(), stages: rs[i].stages.Val(), buffered: rs[i].buffered.Val()}
		out[i] = e
		if typ == "pipeline" {
			scores = append(scores, pipe.ZScore(ctx, e.configKey(), id))
			scored = append(scored, e)
		}
	}
	if len(scores) > 0 {
		if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
			return nil, err
		}
		for i, sc := range scores {
			if v, err := sc.Result(); err == nil {
				scored[i].score = &v
			}
		}
	}
	return out, nil
}

// exist says which of keys the new Redis holds.
func (c OrcaRedisCopy) exist(ctx context.Context, keys []string) (map[string]bool, error) {
	out := map[string]bool{}
	if len(keys) == 0 {
		return out, nil
	}
	pipe := c.To.Pipeline()
	cmds := make([]*redis.IntCmd, len(keys))
	for i, k := range keys {
		cmds[i] = pipe.Exists(ctx, k)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, err
	}
	for i, k := range keys {
		out[k] = cmds[i].Val() == 1
	}
	return out, nil
}

// write makes the new Redis hold e as the old one does, its index entries
// and the record of the copy in the same transaction.
func (c OrcaRedisCopy) write(ctx context.Context, e *orcaExecution, digest string) error {
	k := e.key()
	_, err := c.To.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, k, k+":stageIndex")
		p.HSet(ctx, k, e.fields) // go-redis spreads a map into field-value pairs
		if len(e.stages) > 0 {
			p.RPush(ctx, k+":stageIndex", e.stages) // and a slice into values
		}
		p.SAdd(ctx, "allJobs:"+e.typ, e.id)
		p.SAdd(ctx, e.typ+":app:"+e.fields["application"], e.id)
		if e.score != nil {
			p.ZAdd(ctx, e.configKey(), redis.Z{Score: *e.score, Member: e.id})
		}
		if e.buffered {
			p.SAdd(ctx, c.bufferedKey(e.typ), e.id)
		} else {
			p.SRem(ctx, c.bufferedKey(e.typ), e.id)
		}
		p.HSet(ctx, orcaRecordExecutions, k, digest)
		return nil
	})
	if err != nil {
		return fmt.Errorf("writing %s into %s: %w", k, c.ToName, err)
	}
	return nil
}

// remove deletes e (as the new Redis holds it) with its index entries and
// its record, in one transaction.
func (c OrcaRedisCopy) remove(ctx context.Context, e *orcaExecution) error {
	k := e.key()
	_, err := c.To.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, k, k+":stageIndex")
		p.SRem(ctx, "allJobs:"+e.typ, e.id)
		p.SRem(ctx, e.typ+":app:"+e.fields["application"], e.id)
		if e.typ == "pipeline" {
			p.ZRem(ctx, e.configKey(), e.id)
		}
		p.SRem(ctx, c.bufferedKey(e.typ), e.id)
		p.HDel(ctx, orcaRecordExecutions, k)
		return nil
	})
	if err != nil {
		return fmt.Errorf("deleting %s from %s: %w", k, c.ToName, err)
	}
	return nil
}

// runID is the server's run_id (INFO server): two clients with the same
// one talk to the same server.
func runID(ctx context.Context, rc *redis.Client) (string, error) {
	info := rc.InfoMap(ctx, "server")
	if err := info.Err(); err != nil {
		return "", err
	}
	if id := info.Item("Server", "run_id"); id != "" {
		return id, nil
	}
	return "", errors.New("INFO server has no run_id")
}

// CopyOrcaExecutions copies the old Orca's executions (c.From) into the new
// Redis (c.To): every execution with its stage index, its entries in Orca's
// index sets and the correlation ids that point at it, each execution in
// one transaction with the record of what was copied, read back and
// compared. Executions unchanged since the last run are not copied again;
// executions the last run copied that are gone from the old Redis are
// deleted; executions the new Orca wrote are never touched, and neither is
// one the new Orca changed after it was copied (reported).
func CopyOrcaExecutions(ctx context.Context, c OrcaRedisCopy, log *slog.Logger) (OrcaRedisResult, error) {
	start := time.Now()
	var res OrcaRedisResult
	fromID, err := runID(ctx, c.From)
	if err != nil {
		return res, fmt.Errorf("reading the old Redis %s: %w", c.FromName, err)
	}
	toID, err := runID(ctx, c.To)
	if err != nil {
		return res, fmt.Errorf("reading the new Redis %s: %w", c.ToName, err)
	}
	if fromID == toID && c.From.Options().DB == c.To.Options().DB {
		return res, fmt.Errorf("%s and %s are the same Redis database: both Orcas already share its executions (and Orca's work queue: never run both at once); "+
			"give the new installation's Redis as --to-redis", c.FromName, c.ToName)
	}
	// The old Redis as the last copy saw it: its address or its run_id
	// must match (a port-forward's address changes between runs, a
	// restarted server's run_id does too; both at once is another server).
	source, err := c.To.HGetAll(ctx, orcaRecordSource).Result()
	if err != nil {
		return res, fmt.Errorf("reading the record of the last copy in %s: %w", c.ToName, err)
	}
	if len(source) > 0 && source["url"] != c.FromName && source["run_id"] != fromID {
		return res, fmt.Errorf("%s was filled from %s (run_id %s), not %s (run_id %s): copy into a Redis no other old installation was copied into "+
			"(or delete its keys %s and %s to start over)", c.ToName, source["url"], source["run_id"], c.FromName, fromID, orcaRecordSource, orcaRecordExecutions)
	}
	if err := c.To.HSet(ctx, orcaRecordSource, "url", c.FromName, "run_id", fromID).Err(); err != nil {
		return res, fmt.Errorf("recording the copy in %s: %w", c.ToName, err)
	}
	recorded, err := c.To.HGetAll(ctx, orcaRecordExecutions).Result()
	if err != nil {
		return res, fmt.Errorf("reading the record of the last copy in %s: %w", c.ToName, err)
	}
	var keys []string
	for _, typ := range orcaExecutionTypes {
		ids, err := c.From.SMembers(ctx, "allJobs:"+typ).Result()
		if err != nil {
			return res, fmt.Errorf("listing the %s executions in %s: %w", typ, c.FromName, err)
		}
		for _, id := range ids {
			keys = append(keys, typ+":"+id)
		}
	}
	sort.Strings(keys)

	var copiedBytes, done atomic.Int64
	stopBar := trackStep(c.Progress, fmt.Sprintf("copying Orca's executions from %s", c.FromName), 0, copiedBytes.Load)
	defer stopBar()
	if c.Progress == nil {
		stop := logProgress(log, bucketProgressEvery, "copying Orca's executions", func() []any {
			return []any{"executions", len(keys), "done", done.Load(), "bytes_copied", copiedBytes.Load()}
		})
		defer stop()
	}

	digests := map[string]string{} // what the old Redis holds, by key
	var problems []string
	for batch := range slices.Chunk(keys, orcaBatch) {
		olds, err := c.readExecutions(ctx, c.From, batch)
		if err != nil {
			return res, fmt.Errorf("reading executions from %s: %w (%d copied before it; run the copy again to finish)", c.FromName, err, res.Copied)
		}
		// What the new Redis holds: read whole unless the record says the
		// last run copied this very content, then only checked to be there.
		var read, check []string
		for _, e := range olds {
			if e == nil {
				continue // deleted since it was listed
			}
			if recorded[e.key()] == e.digest() {
				check = append(check, e.key())
			} else {
				read = append(read, e.key())
			}
		}
		there, err := c.exist(ctx, check)
		if err != nil {
			return res, fmt.Errorf("reading executions from %s: %w (%d copied before it; run the copy again to finish)", c.ToName, err, res.Copied)
		}
		news, err := c.readExecutions(ctx, c.To, read)
		if err != nil {
			return res, fmt.Errorf("reading executions from %s: %w (%d copied before it; run the copy again to finish)", c.ToName, err, res.Copied)
		}
		cur := map[string]*orcaExecution{}
		for i, k := range read {
			cur[k] = news[i]
		}
		for _, e := range olds {
			if e == nil {
				continue
			}
			k := e.key()
			res.Executions++
			d := e.digest()
			digests[k] = d
			if st := e.fields["status"]; orcaUnfinished[st] {
				res.Unfinished = append(res.Unfinished, k+" "+st)
			}
			rec, copiedBefore := recorded[k]
			n, full := cur[k]
			switch {
			case !full && there[k]:
				res.Unchanged++
				done.Add(1)
				continue
			case n != nil && n.digest() == d:
				// Already as the old Redis holds it (its record lost by a
				// run killed between the two, or the same content): record it.
				if err := c.To.HSet(ctx, orcaRecordExecutions, k, d).Err(); err != nil {
					return res, fmt.Errorf("recording %s in %s: %w", k, c.ToName, err)
				}
				res.Unchanged++
				done.Add(1)
				continue
			case n != nil && !copiedBefore:
				problems = append(problems, k+" is in the new Redis and was not copied there by spinops: left as it is")
				continue
			case n != nil && n.digest() != rec:
				problems = append(problems, k+" was changed in the new Redis after it was copied, and in the old one too: left as the new Orca has it")
				continue
			}
			if err := c.write(ctx, e, d); err != nil {
				return res, fmt.Errorf("%w (%d copied before it; run the copy again to finish)", err, res.Copied)
			}
			back, err := c.readExecutions(ctx, c.To, []string{k})
			if err != nil {
				return res, fmt.Errorf("reading %s back from %s: %w", k, c.ToName, err)
			}
			if back[0] == nil || back[0].digest() != d {
				return res, fmt.Errorf("%s read back from %s differs from what was written (something else writes it?)", k, c.ToName)
			}
			res.Copied++
			done.Add(1)
			copiedBytes.Add(e.size())
		}
	}
	res.Bytes = copiedBytes.Load()
	stopBar()

	// Executions the last run copied that the old Orca has deleted since.
	var gone []string
	for k := range recorded {
		if _, ok := digests[k]; !ok {
			gone = append(gone, k)
		}
	}
	sort.Strings(gone)
	for batch := range slices.Chunk(gone, orcaBatch) {
		news, err := c.readExecutions(ctx, c.To, batch)
		if err != nil {
			return res, fmt.Errorf("reading executions from %s: %w", c.ToName, err)
		}
		for i, e := range news {
			k := batch[i]
			switch {
			case e == nil:
				if err := c.To.HDel(ctx, orcaRecordExecutions, k).Err(); err != nil {
					return res, fmt.Errorf("updating the record in %s: %w", c.ToName, err)
				}
			case e.digest() != recorded[k]:
				problems = append(problems, k+" is gone from the old Redis but was changed in the new one after it was copied: not deleted")
			default:
				if err := c.remove(ctx, e); err != nil {
					return res, err
				}
				res.Deleted++
			}
		}
	}

	if res.Correlations, err = c.copyCorrelations(ctx, digests); err != nil {
		return res, err
	}
	if res.Pending, err = c.pendingStarts(ctx); err != nil {
		return res, err
	}
	if c.Verify {
		if err := c.verify(ctx, keys, digests); err != nil {
			return res, err
		}
		res.Verified = true
	}
	res.Duration = time.Since(start)
	if len(problems) > 0 {
		return res, fmt.Errorf("%d executions were left as they are in the new Redis (everything else was copied): %s", len(problems), strings.Join(firstN(problems, 5), "; "))
	}
	log.Info("Orca's executions copied", "from", c.FromName, "to", c.ToName, "executions", res.Executions, "copied", res.Copied,
		"unchanged", res.Unchanged, "deleted", res.Deleted, "bytes", res.Bytes, "unfinished", len(res.Unfinished), "pending_not_copied", res.Pending)
	return res, nil
}

// orcaUnfinished are the ExecutionStatus values of an execution that has not
// finished (orca-api ExecutionStatus: isComplete false).
var orcaUnfinished = map[string]bool{"NOT_STARTED": true, "RUNNING": true, "PAUSED": true, "SUSPENDED": true, "BUFFERED": true}

// copyCorrelations copies the correlation ids that point at a copied
// execution; those the new Orca wrote are left alone.
func (c OrcaRedisCopy) copyCorrelations(ctx context.Context, copied map[string]string) (int, error) {
	ids := map[string]bool{}
	for k := range copied {
		_, id, _ := strings.Cut(k, ":")
		ids[id] = true
	}
	n := 0
	iter := c.From.Scan(ctx, 0, "correlation:*", 500).Iterator()
	for iter.Next(ctx) {
		k := iter.Val()
		v, err := c.From.Get(ctx, k).Result()
		if errors.Is(err, redis.Nil) {
			continue
		}
		if err != nil {
			return n, fmt.Errorf("reading %s from %s: %w", k, c.FromName, err)
		}
		if !ids[v] {
			continue
		}
		cur, err := c.To.Get(ctx, k).Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			return n, fmt.Errorf("reading %s from %s: %w", k, c.ToName, err)
		}
		if err == nil && cur == v {
			continue
		}
		if err == nil && !ids[cur] {
			continue // the new Orca's own
		}
		if err := c.To.Set(ctx, k, v, 0).Err(); err != nil {
			return n, fmt.Errorf("writing %s into %s: %w", k, c.ToName, err)
		}
		n++
	}
	if err := iter.Err(); err != nil {
		return n, fmt.Errorf("listing correlation ids in %s: %w", c.FromName, err)
	}
	return n, nil
}

// pendingStarts counts the pending starts in the old Redis
// (RedisPendingExecutionService's orca.pipeline.queue.<configId> lists).
func (c OrcaRedisCopy) pendingStarts(ctx context.Context) (int64, error) {
	var n int64
	iter := c.From.Scan(ctx, 0, "orca.pipeline.queue.*", 500).Iterator()
	for iter.Next(ctx) {
		l, err := c.From.LLen(ctx, iter.Val()).Result()
		if err != nil {
			return n, fmt.Errorf("reading %s from %s: %w", iter.Val(), c.FromName, err)
		}
		n += l
	}
	if err := iter.Err(); err != nil {
		return n, fmt.Errorf("listing pending starts in %s: %w", c.FromName, err)
	}
	return n, nil
}

// verify reads every execution of the old Redis again in both and compares
// them, with their index entries.
func (c OrcaRedisCopy) verify(ctx context.Context, keys []string, digests map[string]string) error {
	var bad []string
	for batch := range slices.Chunk(keys, orcaBatch) {
		olds, err := c.readExecutions(ctx, c.From, batch)
		if err != nil {
			return fmt.Errorf("verifying: reading executions from %s: %w", c.FromName, err)
		}
		news, err := c.readExecutions(ctx, c.To, batch)
		if err != nil {
			return fmt.Errorf("verifying: reading executions from %s: %w", c.ToName, err)
		}
		pipe := c.To.Pipeline()
		type member struct {
			key string
			cmd *redis.BoolCmd
		}
		var members []member
		for i, o := range olds {
			k, n := batch[i], news[i]
			switch {
			case o == nil && digests[k] == "":
				continue
			case o == nil:
				bad = append(bad, k+" was deleted from the old Redis during the copy")
			case o.digest() != digests[k]:
				bad = append(bad, k+" changed in the old Redis during the copy")
			case n == nil:
				bad = append(bad, k+" is missing from the new Redis")
			case n.digest() != digests[k]:
				bad = append(bad, k+" differs in the new Redis")
			case n.buffered != o.buffered || (o.score != nil && (n.score == nil || *n.score != *o.score)):
				bad = append(bad, k+"'s index entries differ in the new Redis")
			default:
				members = append(members,
					member{k, pipe.SIsMember(ctx, "allJobs:"+o.typ, o.id)},
					member{k, pipe.SIsMember(ctx, o.typ+":app:"+o.fields["application"], o.id)})
			}
		}
		if len(members) > 0 {
			if _, err := pipe.Exec(ctx); err != nil {
				return fmt.Errorf("verifying: reading Orca's index sets from %s: %w", c.ToName, err)
			}
			for _, m := range members {
				if !m.cmd.Val() {
					bad = append(bad, m.key+" is missing from an index set of the new Redis")
				}
			}
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("verifying the copy: %d executions differ (was the old installation frozen?): %s", len(bad), strings.Join(firstN(bad, 5), "; "))
	}
	return nil
}

// OpenRedis connects to the Redis at rawURL (redis://host:port/db,
// rediss:// for TLS, unix:///path?db=N) with password, and names it for
// messages and the record: the URL without user information or query. A
// password inside the URL is refused without echoing the URL, so that it
// does not land in shell history, process lists or logs.
func OpenRedis(rawURL, password, passwordEnv string) (*redis.Client, string, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme == "" {
		return nil, "", errors.New("not a URL: give redis://HOST:PORT/DB, rediss://HOST:PORT/DB (TLS) or unix:///PATH?db=N")
	}
	if _, has := u.User.Password(); has {
		return nil, "", fmt.Errorf("the URL carries a password: leave it out and give it in %s", passwordEnv)
	}
	opts, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, "", fmt.Errorf("%q: %w (give redis://HOST:PORT/DB, rediss://HOST:PORT/DB or unix:///PATH?db=N)", rawURL, err)
	}
	if password != "" {
		opts.Password = password
	}
	opts.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	name := fmt.Sprintf("%s://%s/%d", u.Scheme, u.Host, opts.DB)
	if u.Scheme == "unix" {
		name = fmt.Sprintf("unix://%s?db=%d", u.Path, opts.DB)
	}
	return redis.NewClient(opts), name, nil
}
