package migratetest

// This file: the old Orca's executions in Redis, written as Orca's
// RedisExecutionRepository writes them (spinnaker/orca 2fdb327a9,
// orca-redis/src/main/java/com/netflix/spinnaker/orca/pipeline/persistence/
// jedis/RedisExecutionRepository.java):
//
//   - store → storeExecutionInternal: SADD allJobs:<type> id; SADD
//     <type>:app:<application> id; SADD (BUFFERED) or SREM the buffered set
//     (allBufferedExecutionsKey: "<keiko.queue.redis.queueName>:buffered:<type>",
//     "buffered:<type>" when the queue name is empty); in one MULTI: HDEL
//     config, HMSET the serialized execution (serializeExecution: the
//     execution's fields plus serializeStage's stage.<id>.<field> for every
//     stage, null values left out), DEL and RPUSH <key>:stageIndex when it
//     has stages; SET correlation:<correlationId> id when the trigger has
//     one; then for a pipeline ZADD pipeline:executions:<configId or "---">
//     with the build time.
//   - storeStage(updateIndex) → storeStageInternal: in one MULTI HMSET the
//     stage's fields, HDEL its null ones, LINSERT its id into the stage
//     index when added.
//   - delete → deleteInternal: SREM from the application's set and the
//     buffered set, ZREM from the pipeline config's sorted set, DEL the hash
//     and its stage index, SREM from allJobs.
//   - RedisPendingExecutionService.enqueue: LPUSH orca.pipeline.queue.<configId>.

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/redis/go-redis/v9"
)

// RedisStage is one stage of a RedisExecution.
type RedisStage struct {
	ID, RefID, Type, Name, Status string
	Context                       map[string]any
}

// RedisExecution is an execution as the old Orca stores it in Redis.
type RedisExecution struct {
	Type                  string // pipeline or orchestration
	ID, Application, Name string
	PipelineConfigID      string // pipelines
	Status                string
	BuildTime             int64
	CorrelationID         string
	Stages                []RedisStage
}

func (e RedisExecution) key() string { return e.Type + ":" + e.ID }

// Fields is the hash serializeExecution makes of e (null values left out).
func (e RedisExecution) Fields() map[string]string {
	trigger := map[string]any{"type": "manual", "user": "anonymous"}
	if e.CorrelationID != "" {
		trigger["correlationId"] = e.CorrelationID
	}
	m := map[string]string{
		"application":             e.Application,
		"canceled":                "false",
		"limitConcurrent":         "true",
		"maxConcurrentExecutions": "0",
		"buildTime":               strconv.FormatInt(e.BuildTime, 10),
		"startTime":               strconv.FormatInt(e.BuildTime+10, 10),
		"status":                  e.Status,
		"authentication":          `{"user":"anonymous","allowedAccounts":[]}`,
		"paused":                  "null",
		"keepWaitingPipelines":    "false",
		"spelEvaluator":           "v4",
		"origin":                  "api",
		"source":                  "null",
		"trigger":                 mustJSON(trigger),
		"systemNotifications":     "[]",
	}
	if e.Type == "pipeline" {
		m["name"] = e.Name
		m["pipelineConfigId"] = e.PipelineConfigID
		m["notifications"] = "[]"
		m["initialConfig"] = "{}"
	} else {
		m["description"] = e.Name
	}
	for _, s := range e.Stages {
		for k, v := range s.fields() {
			m[k] = v
		}
	}
	return m
}

// fields is serializeStage's map of s.
func (s RedisStage) fields() map[string]string {
	p := "stage." + s.ID + "."
	ctx := s.Context
	if ctx == nil {
		ctx = map[string]any{}
	}
	return map[string]string{
		p + "refId":   s.RefID,
		p + "type":    s.Type,
		p + "name":    s.Name,
		p + "status":  s.Status,
		p + "context": mustJSON(ctx),
		p + "outputs": "{}",
		p + "tasks":   `[{"id":"1","name":"` + s.Type + `","status":"` + s.Status + `"}]`,
	}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// BufferedKey is allBufferedExecutionsKey for queueName.
func BufferedKey(queueName, typ string) string {
	if queueName == "" {
		return "buffered:" + typ
	}
	return queueName + ":buffered:" + typ
}

// ConfigKey is executionsByPipelineKey.
func ConfigKey(configID string) string {
	if configID == "" {
		configID = "---"
	}
	return "pipeline:executions:" + configID
}

// StoreRedisExecution stores e in c as RedisExecutionRepository.store does.
func StoreRedisExecution(ctx context.Context, c *redis.Client, queueName string, e RedisExecution) error {
	k := e.key()
	if err := c.SAdd(ctx, "allJobs:"+e.Type, e.ID).Err(); err != nil {
		return err
	}
	if err := c.SAdd(ctx, e.Type+":app:"+e.Application, e.ID).Err(); err != nil {
		return err
	}
	if e.Status == "BUFFERED" {
		if err := c.SAdd(ctx, BufferedKey(queueName, e.Type), e.ID).Err(); err != nil {
			return err
		}
	} else if err := c.SRem(ctx, BufferedKey(queueName, e.Type), e.ID).Err(); err != nil {
		return err
	}
	if _, err := c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HDel(ctx, k, "config")
		p.HSet(ctx, k, e.Fields())
		if len(e.Stages) > 0 {
			p.Del(ctx, k+":stageIndex")
			ids := make([]string, len(e.Stages))
			for i, s := range e.Stages {
				ids[i] = s.ID
			}
			p.RPush(ctx, k+":stageIndex", ids)
		}
		return nil
	}); err != nil {
		return fmt.Errorf("storing %s: %w", k, err)
	}
	if e.CorrelationID != "" {
		if err := c.Set(ctx, "correlation:"+e.CorrelationID, e.ID, 0).Err(); err != nil {
			return err
		}
	}
	if e.Type == "pipeline" {
		return c.ZAdd(ctx, ConfigKey(e.PipelineConfigID), redis.Z{Score: float64(e.BuildTime), Member: e.ID}).Err()
	}
	return nil
}

// AddRedisStage adds s after the execution's last stage, as storeStage with
// updateIndex does (its parent here: the last stage; LINSERT AFTER it).
func AddRedisStage(ctx context.Context, c *redis.Client, e RedisExecution, s RedisStage) error {
	k := e.key()
	_, err := c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, k, s.fields())
		p.LInsertAfter(ctx, k+":stageIndex", e.Stages[len(e.Stages)-1].ID, s.ID)
		return nil
	})
	return err
}

// DeleteRedisExecution deletes e as RedisExecutionRepository.delete does.
func DeleteRedisExecution(ctx context.Context, c *redis.Client, queueName string, e RedisExecution) error {
	k := e.key()
	c.SRem(ctx, e.Type+":app:"+e.Application, e.ID)
	c.SRem(ctx, BufferedKey(queueName, e.Type), e.ID)
	if e.Type == "pipeline" {
		c.ZRem(ctx, ConfigKey(e.PipelineConfigID), e.ID)
	}
	c.Del(ctx, k)
	c.Del(ctx, k+":stageIndex")
	return c.SRem(ctx, "allJobs:"+e.Type, e.ID).Err()
}

// EnqueuePendingStart queues a start of a pipeline that may not run
// concurrently, as RedisPendingExecutionService.enqueue does.
func EnqueuePendingStart(ctx context.Context, c *redis.Client, configID string, message map[string]any) error {
	return c.LPush(ctx, "orca.pipeline.queue."+configID, mustJSON(message)).Err()
}
