//go:build modules

package modtest

import (
	"slices"
	"sort"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

// TestMotoNetwork: modules/aws/network applied for real: one public,
// private and database subnet in each AZ, the user-facing security group
// open exactly on Deck's and Gate's ports to the given CIDRs, the database
// group reachable only from the internal group, a NAT gateway per AZ.
func TestMotoNetwork(t *testing.T) {
	t.Parallel()
	moto := testenv.SharedMoto(t)
	azs := []string{testenv.MotoRegion + "a", testenv.MotoRegion + "b", testenv.MotoRegion + "c"}
	a := applyTolerating(t, moto, "aws/network", `
  name                     = "spin"
  cidr                     = "10.20.0.0/16"
  azs                      = ["`+azs[0]+`", "`+azs[1]+`", "`+azs[2]+`"]
  deck_ingress_cidr_blocks = ["203.0.113.0/24"]
  gate_ingress_cidr_blocks = ["198.51.100.0/24"]
`, networkGaps())
	ctx := t.Context()
	cfg := awsConfig()
	ec := ec2.NewFromConfig(cfg, func(o *ec2.Options) { o.BaseEndpoint = aws.String(moto.Endpoint) })

	var vpcID, userSG, internalSG, dbSG string
	a.output(t, "vpc_id", &vpcID)
	a.output(t, "user_facing_security_group_id", &userSG)
	a.output(t, "internal_security_group_id", &internalSG)
	a.output(t, "database_security_group_id", &dbSG)

	vpcs, err := ec.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{VpcIds: []string{vpcID}})
	if err != nil || len(vpcs.Vpcs) != 1 || aws.ToString(vpcs.Vpcs[0].CidrBlock) != "10.20.0.0/16" {
		t.Fatalf("VPC %s: %+v, %v", vpcID, vpcs, err)
	}
	for _, tier := range []string{"public", "private", "database"} {
		var ids []string
		a.output(t, tier+"_subnet_ids", &ids)
		subs, err := ec.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{SubnetIds: ids})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, s := range subs.Subnets {
			if aws.ToString(s.VpcId) != vpcID {
				t.Errorf("%s subnet %s is in VPC %s, not %s", tier, aws.ToString(s.SubnetId), aws.ToString(s.VpcId), vpcID)
			}
			got = append(got, aws.ToString(s.AvailabilityZone))
		}
		sort.Strings(got)
		if !slices.Equal(got, azs) {
			t.Errorf("%s subnets are in AZs %v, want one in each of %v", tier, got, azs)
		}
	}

	// What users can reach: exactly Deck 80/443 from its CIDR, Gate
	// 8084/443 from its CIDR, nothing else.
	type rule struct {
		port int32
		cidr string
	}
	rules, err := ec.DescribeSecurityGroupRules(ctx, &ec2.DescribeSecurityGroupRulesInput{
		Filters: []ec2types.Filter{{Name: aws.String("group-id"), Values: []string{userSG}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	var ingress []rule
	for _, r := range rules.SecurityGroupRules {
		if aws.ToBool(r.IsEgress) {
			continue
		}
		if aws.ToInt32(r.FromPort) != aws.ToInt32(r.ToPort) || aws.ToString(r.IpProtocol) != "tcp" {
			t.Errorf("user-facing rule %s opens %s %d-%d: want single TCP ports", aws.ToString(r.SecurityGroupRuleId), aws.ToString(r.IpProtocol), aws.ToInt32(r.FromPort), aws.ToInt32(r.ToPort))
		}
		ingress = append(ingress, rule{aws.ToInt32(r.FromPort), aws.ToString(r.CidrIpv4)})
	}
	want := []rule{{80, "203.0.113.0/24"}, {443, "198.51.100.0/24"}, {443, "203.0.113.0/24"}, {8084, "198.51.100.0/24"}}
	sortRules := func(rs []rule) {
		sort.Slice(rs, func(i, j int) bool {
			return rs[i].port < rs[j].port || rs[i].port == rs[j].port && rs[i].cidr < rs[j].cidr
		})
	}
	sortRules(ingress)
	if !slices.Equal(ingress, want) {
		t.Errorf("user-facing ingress %v, want exactly %v", ingress, want)
	}

	// The database: 3306 from the internal group only, no CIDR.
	dbRules, err := ec.DescribeSecurityGroupRules(ctx, &ec2.DescribeSecurityGroupRulesInput{
		Filters: []ec2types.Filter{{Name: aws.String("group-id"), Values: []string{dbSG}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range dbRules.SecurityGroupRules {
		if aws.ToBool(r.IsEgress) {
			continue
		}
		n++
		ref := ""
		if r.ReferencedGroupInfo != nil {
			ref = aws.ToString(r.ReferencedGroupInfo.GroupId)
		}
		if aws.ToInt32(r.FromPort) != 3306 || aws.ToInt32(r.ToPort) != 3306 || ref != internalSG || aws.ToString(r.CidrIpv4) != "" {
			t.Errorf("database ingress %s: port %d-%d from group %q cidr %q, want 3306 from the internal group %s only",
				aws.ToString(r.SecurityGroupRuleId), aws.ToInt32(r.FromPort), aws.ToInt32(r.ToPort), ref, aws.ToString(r.CidrIpv4), internalSG)
		}
	}
	if n != 1 {
		t.Errorf("database group has %d ingress rules, want 1", n)
	}

	var nats []string
	a.output(t, "nat_gateway_ids", &nats)
	ngw, err := ec.DescribeNatGateways(ctx, &ec2.DescribeNatGatewaysInput{NatGatewayIds: nats})
	if err != nil {
		t.Fatal(err)
	}
	natAZ := map[string]bool{}
	for _, g := range ngw.NatGateways {
		natAZ[aws.ToString(g.SubnetId)] = true
	}
	if len(ngw.NatGateways) != len(azs) || len(natAZ) != len(azs) {
		t.Errorf("%d NAT gateways in %d subnets, want one per AZ (%d)", len(ngw.NatGateways), len(natAZ), len(azs))
	}
}

// TestMotoBucket: modules/aws/bucket applied for real: versioned,
// encrypted by default, public access blocked (its noncurrent-version
// lifecycle is plan-only under moto: see motoGaps).
func TestMotoBucket(t *testing.T) {
	t.Parallel()
	moto := testenv.SharedMoto(t)
	name := testenv.UniqueName("spinops-front50-", 8)
	a := applyTolerating(t, moto, "aws/bucket", `
  bucket        = "`+name+`"
  force_destroy = true
`, bucketGaps())
	if id := a.attr(t, "module.m.aws_s3_bucket.this", "id"); id != name {
		t.Fatalf("bucket id %v, want %q", id, name)
	}
	ctx := t.Context()
	sc := s3.NewFromConfig(awsConfig(), func(o *s3.Options) { o.BaseEndpoint = aws.String(moto.Endpoint); o.UsePathStyle = true })
	v, err := sc.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: aws.String(name)})
	if err != nil || v.Status != "Enabled" {
		t.Errorf("versioning %+v, %v; want Enabled", v, err)
	}
	enc, err := sc.GetBucketEncryption(ctx, &s3.GetBucketEncryptionInput{Bucket: aws.String(name)})
	if err != nil || len(enc.ServerSideEncryptionConfiguration.Rules) != 1 ||
		enc.ServerSideEncryptionConfiguration.Rules[0].ApplyServerSideEncryptionByDefault.SSEAlgorithm != "AES256" {
		t.Errorf("default encryption %+v, %v; want AES256", enc, err)
	}
	pab, err := sc.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: aws.String(name)})
	if err != nil {
		t.Errorf("public access block: %v", err)
	} else if c := pab.PublicAccessBlockConfiguration; !aws.ToBool(c.BlockPublicAcls) || !aws.ToBool(c.BlockPublicPolicy) || !aws.ToBool(c.IgnorePublicAcls) || !aws.ToBool(c.RestrictPublicBuckets) {
		t.Errorf("public access block %+v: want all four on", c)
	}
}
