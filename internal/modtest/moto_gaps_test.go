//go:build modules

package modtest

import (
	"fmt"
	"maps"
	"strings"
)

// Each AWS module's moto gaps, in one place: a module's own test and the
// composition that calls it (examples/aws-complete, TestMotoAWSComplete)
// meet the same ones. PlanOnly and Drift addresses are under the module
// call "module.m" (the module tests' call); under moves them to another
// call. Ignore is by address inside the module, whoever calls it.

// sgRefGap: why two security group rules are updated by a second plan.
const sgRefGap = "moto reads a group-referencing rule back as <account>/<sg-id> without its description (real EC2 does not)"

func networkGaps() motoGaps {
	// moto 5.2 returns a same-account group reference as
	// "<account>/<sg-id>" and drops the description of rules that
	// reference a group; real AWS returns the bare id and the description.
	return motoGaps{Drift: map[string]string{
		"module.m.aws_vpc_security_group_ingress_rule.database_mysql": sgRefGap,
		"module.m.aws_vpc_security_group_ingress_rule.internal_self":  sgRefGap,
	}}
}

func bucketGaps() motoGaps {
	return motoGaps{PlanOnly: map[string]string{
		"module.m.aws_s3_bucket_lifecycle_configuration.this": "moto 5.2 reads the lifecycle rules back differently from what was put, " +
			"and the aws provider waits 3 minutes for them to match, then fails",
	}}
}

// eksNoAPI: why the EKS module's access entries and add-ons are plan-only.
const eksNoAPI = "moto 5.2.1 implements no EKS access entries, access policies or add-ons (moto/eks/responses.py handles clusters, node groups and Fargate profiles only)"

// eksRegion is where TestMotoEKS applies modules/aws/eks, every other test
// in testenv.MotoRegion: see eksIssuerGap.
const eksRegion = "us-west-2"

// eksIssuerGap: why modules/aws/eks's own test applies in another region
// than examples/aws-complete's, which runs at the same time.
const eksIssuerGap = "moto 5.2.1 gives every EKS cluster of a region the same OIDC issuer (moto/eks/models.py:20-22, ISSUER_TEMPLATE, " +
	"its ID drawn once per moto process; set at :128), where EKS gives each cluster its own, and IAM keeps one OIDC provider per issuer URL " +
	"in an account: two EKS clusters applied at once in one region, each with its IRSA provider, collide (CreateOpenIDConnectProvider: " +
	"409 EntityAlreadyExists, as TestMotoAWSComplete failed on 2026-12-04)"

// eksGaps are the EKS module's gaps with the given access entries and
// add-ons (their keys).
func eksGaps(accessEntries, addons []string) motoGaps {
	g := motoGaps{
		Ignore: map[string]map[string]string{
			"aws_eks_cluster.this": {
				"access_config": "moto 5.2.1 drops the cluster's accessConfig (moto/eks/responses.py create_cluster reads no accessConfig, lines 19-44; moto/eks/models.py class Cluster keeps none), so the provider reads it back empty and would replace the cluster (bootstrap_cluster_creator_admin_permissions forces a new one)",
			},
			"aws_launch_template.node": {
				"vpc_security_group_ids": "moto 5.2.1 creates no cluster security group: it keeps resourcesVpcConfig as sent (moto/eks/models.py:142) with no clusterSecurityGroupId, which EKS always returns, so the module's launch template gets [\"\"] for it, EC2 drops the empty ID and the provider would update the template",
			},
			"aws_eks_node_group.this": {
				"remote_access": "moto 5.2.1 gives every node group without remoteAccess a made-up one, {ec2SshKey: eksKeypair} (moto/eks/models.py:58 DEFAULT_REMOTE_ACCESS, used at :247), where EKS returns none (and refuses remote access beside a launch template); the provider would replace the node group",
				"update_config": "moto 5.2.1 drops updateConfig on create (moto/eks/responses.py create_nodegroup reads no updateConfig, lines 67-105), so the provider reads it back empty and would update it",
			},
		},
		PlanOnly: map[string]string{},
	}
	for _, k := range accessEntries {
		g.PlanOnly[fmt.Sprintf("module.m.aws_eks_access_entry.this[%q]", k)] = eksNoAPI
		g.PlanOnly[fmt.Sprintf("module.m.aws_eks_access_policy_association.this[%q]", k)] = eksNoAPI
	}
	for _, k := range addons {
		g.PlanOnly[fmt.Sprintf("module.m.aws_eks_addon.this[%q]", k)] = eksNoAPI
	}
	return g
}

// perfInsightsGap: why the instances' Performance Insights are not
// compared after the apply.
const perfInsightsGap = "moto 5.2.1 does not model Performance Insights (nothing in moto/rds/models.py keeps PerformanceInsightsEnabled), " +
	"so every instance reads back with it off and the provider would turn it on again: not checked against moto"

func mysqlGaps() motoGaps {
	return motoGaps{Ignore: map[string]map[string]string{
		"aws_db_parameter_group.this": {
			"parameter": "moto 5.2.1 keeps the parameters ModifyDBParameterGroup sent as they came, without the Source \"user\" that RDS gives a modified parameter (moto/rds/models.py:4451-4454, returned as stored by moto/rds/responses.py:354-363), and the provider keeps no parameter without a Source (internal/service/rds/parameter_group.go, resourceParameterGroupRead), so it reads none back; the test reads them with DescribeDBParameters instead",
		},
		"aws_rds_cluster.this": {
			"scaling_configuration": "moto 5.2.1 returns a ScalingConfigurationInfo of nulls for every cluster (moto/rds/models.py:849-858), where RDS returns one only for Aurora Serverless v1 (engine_mode serverless); the module's cluster is provisioned",
		},
		"aws_rds_cluster_instance.writer": {
			"performance_insights_enabled": perfInsightsGap,
		},
		"aws_rds_cluster_instance.reader": {
			"performance_insights_enabled": perfInsightsGap,
		},
	}}
}

// sseGap: why the queue's encryption is also read from the state.
const sseGap = "moto 5.2.1 gives every queue SqsManagedSseEnabled = true unless told otherwise (moto/sqs/models.py:278, " +
	"the queue's default attributes), so SQS answering true cannot tell the module's setting: the test also takes " +
	"sqs_managed_sse_enabled = true from the state"

func karpenterGaps() motoGaps {
	return motoGaps{
		PlanOnly: map[string]string{
			"module.m.aws_eks_access_entry.node[0]": "moto 5.2.1 implements no EKS access entries (moto/eks/responses.py handles clusters, node groups and Fargate profiles only)",
		},
		Reads: map[string]string{"queue SqsManagedSseEnabled": sseGap},
	}
}

// schemeGap: why an internet-facing load balancer reads back with an
// empty Scheme from moto.
const schemeGap = "the aws provider sends CreateLoadBalancer a Scheme only for internal = true " +
	"(internal/service/elbv2/load_balancer.go, resourceLoadBalancerCreate), and AWS defaults a missing Scheme to internet-facing " +
	"(ELBv2 API reference, CreateLoadBalancer Scheme, as in aws-sdk-go-v2 CreateLoadBalancerInput.Scheme: \"The default is an Internet-facing load balancer.\"); moto 5.2.1 passes the missing " +
	"parameter on as None (moto/elbv2/responses.py:48,57), overriding the model's internet-facing default (moto/elbv2/models.py:599), " +
	"so DescribeLoadBalancers returns an empty Scheme: the test takes internet-facing or empty, never internal, and internal = false from the state"

func edgeGaps() motoGaps {
	return motoGaps{Reads: map[string]string{"load balancer Scheme": schemeGap}}
}

// redisGap: why nothing of modules/aws/redis is applied (modules/README.md
// has the whole story).
const redisGap = "moto 5.2.1 has no ElastiCache cache parameter groups (CreateCacheParameterGroup: not implemented in moto/elasticache/responses.py) " +
	"and creates no cache clusters for a replication group's members (moto/elasticache/models.py), so the provider's read fails with CacheClusterNotFound"

// withRoot is g with root as more HCL in the scratch root module
// (motoGaps.Root).
func withRoot(g motoGaps, root string) motoGaps {
	g.Root = root
	return g
}

// under moves the gaps' addresses from the call module.m to call (e.g.
// module.network, module.karpenter[0]).
func (g motoGaps) under(call string) motoGaps {
	move := func(m map[string]string) map[string]string {
		if m == nil {
			return nil
		}
		out := map[string]string{}
		for addr, why := range m {
			out[call+strings.TrimPrefix(addr, "module.m")] = why
		}
		return out
	}
	return motoGaps{Drift: move(g.Drift), PlanOnly: move(g.PlanOnly), PlanOnlyUnder: move(g.PlanOnlyUnder), Ignore: g.Ignore, Reads: g.Reads, Root: g.Root}
}

// mergeGaps is the gaps of several module calls in one root module
// (Ignore is by module, not merged: the caller copies each module with its
// own).
func mergeGaps(gs ...motoGaps) motoGaps {
	out := motoGaps{Drift: map[string]string{}, PlanOnly: map[string]string{}, PlanOnlyUnder: map[string]string{}, Reads: map[string]string{}}
	for _, g := range gs {
		maps.Copy(out.Drift, g.Drift)
		maps.Copy(out.PlanOnly, g.PlanOnly)
		maps.Copy(out.PlanOnlyUnder, g.PlanOnlyUnder)
		maps.Copy(out.Reads, g.Reads)
	}
	return out
}
