package aws

import (
	"fmt"
	"sort"
	"strings"
)

// The documents of Spinnaker's AWS "managing" (source) role and of the
// "managed" (destination) roles it assumes in each target account.

// Statement ids spinops writes. Parsing a document back (on import) goes by
// the statements' shape, not by these.
const (
	sidDiscovery          = "SpinnakerDiscovery"
	sidAssumeManagedRoles = "AssumeManagedRoles"
	sidBake               = "BakeImages"
	sidTrustedPrincipals  = "TrustedPrincipals"
	sidEKSServiceAccounts = "EKSServiceAccounts"
	sidTrustSourceRoles   = "TrustSpinnakerSourceRoles"
	sidPassRole           = "PassRoleToInstances"
	sidCertificates       = "ListServerCertificates"
	sidEC2Deploy          = "DeployEC2"
)

const (
	actionAssumeRole             = "sts:AssumeRole"
	actionAssumeRoleWithIdentity = "sts:AssumeRoleWithWebIdentity"
	irsaAudience                 = "sts.amazonaws.com"
	irsaSubjectPrefix            = "system:serviceaccount:"
)

// DiscoveryActions are what the source role itself needs besides assuming
// the managed roles: Clouddriver lists regions and availability zones.
var DiscoveryActions = []string{"ec2:DescribeAvailabilityZones", "ec2:DescribeRegions"}

// BakeActions are what Rosco's Packer (amazon-ebs builder) needs to bake an
// AMI in the managing account: Packer's documented minimal set.
var BakeActions = []string{
	"ec2:AttachVolume", "ec2:AuthorizeSecurityGroupIngress", "ec2:CopyImage", "ec2:CreateImage",
	"ec2:CreateKeyPair", "ec2:CreateSecurityGroup", "ec2:CreateSnapshot", "ec2:CreateTags",
	"ec2:CreateVolume", "ec2:DeleteKeyPair", "ec2:DeleteSecurityGroup", "ec2:DeleteSnapshot",
	"ec2:DeleteVolume", "ec2:DeregisterImage", "ec2:DescribeImageAttribute", "ec2:DescribeImages",
	"ec2:DescribeInstanceStatus", "ec2:DescribeInstances", "ec2:DescribeRegions",
	"ec2:DescribeSecurityGroups", "ec2:DescribeSnapshots", "ec2:DescribeSubnets", "ec2:DescribeTags",
	"ec2:DescribeVolumes", "ec2:DetachVolume", "ec2:GetPasswordData", "ec2:ModifyImageAttribute",
	"ec2:ModifyInstanceAttribute", "ec2:ModifySnapshotAttribute", "ec2:RegisterImage",
	"ec2:RunInstances", "ec2:StopInstances", "ec2:TerminateInstances",
}

// SourceRoleTrust is who may assume the source role.
type SourceRoleTrust struct {
	// EKSOIDC: Kubernetes service accounts of EKS clusters, through IRSA.
	EKSOIDC []EKSOIDCTrust
	// PrincipalARNs: IAM principals (e.g. the EKS node role).
	PrincipalARNs []string
}

// EKSOIDCTrust trusts service accounts of one cluster's OIDC provider.
type EKSOIDCTrust struct {
	// ProviderARN is the IAM OIDC provider's ARN,
	// arn:aws:iam::ACCOUNT:oidc-provider/oidc.eks.REGION.amazonaws.com/id/ID.
	ProviderARN string
	// ServiceAccounts are "namespace:name" pairs.
	ServiceAccounts []string
}

// OIDCIssuer returns the issuer host and path an OIDC provider ARN names
// (the prefix of its condition keys), e.g.
// oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE.
func OIDCIssuer(providerARN string) (string, error) {
	_, issuer, ok := strings.Cut(providerARN, ":oidc-provider/")
	if !ok || issuer == "" || !strings.HasPrefix(providerARN, "arn:") {
		return "", fmt.Errorf("%q is not an IAM OIDC provider ARN (arn:aws:iam::123456789012:oidc-provider/ISSUER)", providerARN)
	}
	return issuer, nil
}

// SourceRoleTrustPolicy builds the source role's trust policy: one
// statement for the listed principals (sts:AssumeRole) and one per OIDC
// provider (sts:AssumeRoleWithWebIdentity, with the IRSA `aud` and `sub`
// conditions). OIDC statements are ordered by provider ARN, so the order of
// the configuration does not matter.
func SourceRoleTrustPolicy(t SourceRoleTrust) (string, error) {
	var stmts []Statement
	if len(t.PrincipalARNs) > 0 {
		stmts = append(stmts, Statement{
			Sid:       sidTrustedPrincipals,
			Principal: map[string][]string{"AWS": t.PrincipalARNs},
			Action:    []string{actionAssumeRole},
		})
	}
	oidc := append([]EKSOIDCTrust(nil), t.EKSOIDC...)
	sort.SliceStable(oidc, func(i, j int) bool { return oidc[i].ProviderARN < oidc[j].ProviderARN })
	for i, o := range oidc {
		issuer, err := OIDCIssuer(o.ProviderARN)
		if err != nil {
			return "", err
		}
		if i > 0 && oidc[i-1].ProviderARN == o.ProviderARN {
			return "", fmt.Errorf("OIDC provider %s is listed twice: list all its service accounts in one block", o.ProviderARN)
		}
		if len(o.ServiceAccounts) == 0 {
			return "", fmt.Errorf("OIDC provider %s: no service accounts listed", o.ProviderARN)
		}
		subs := make([]string, 0, len(o.ServiceAccounts))
		for _, sa := range o.ServiceAccounts {
			ns, name, ok := strings.Cut(sa, ":")
			if !ok || ns == "" || name == "" || strings.Contains(name, ":") {
				return "", fmt.Errorf("service account %q is not in namespace:name form", sa)
			}
			subs = append(subs, irsaSubjectPrefix+ns+":"+name)
		}
		stmts = append(stmts, Statement{
			Sid:       fmt.Sprintf("%s%d", sidEKSServiceAccounts, i+1),
			Principal: map[string][]string{"Federated": {o.ProviderARN}},
			Action:    []string{actionAssumeRoleWithIdentity},
			Condition: map[string]map[string][]string{"StringEquals": {
				issuer + ":aud": {irsaAudience},
				issuer + ":sub": subs,
			}},
		})
	}
	if len(stmts) == 0 {
		return "", fmt.Errorf("nobody may assume the role: list principal ARNs or EKS service accounts")
	}
	return PolicyDocument(stmts...), nil
}

// SourceRolePolicy builds the source role's own permissions: discovery,
// sts:AssumeRole on exactly managedRoleARNs (no statement when there are
// none), and the bake permissions when bake is set.
func SourceRolePolicy(managedRoleARNs []string, bake bool) string {
	stmts := []Statement{{Sid: sidDiscovery, Action: DiscoveryActions, Resource: []string{"*"}}}
	if len(managedRoleARNs) > 0 {
		stmts = append(stmts, Statement{Sid: sidAssumeManagedRoles, Action: []string{actionAssumeRole}, Resource: managedRoleARNs})
	}
	if bake {
		stmts = append(stmts, Statement{Sid: sidBake, Action: BakeActions, Resource: []string{"*"}})
	}
	return PolicyDocument(stmts...)
}

// ParseSourceRoleTrust recovers the trust arguments from a trust policy
// (on import). Statements of other shapes are ignored; ok is false when
// nothing was recognised.
func ParseSourceRoleTrust(doc string) (t SourceRoleTrust, ok bool) {
	v, err := parsePolicy(doc)
	if err != nil {
		return t, false
	}
	stmts, _ := v["Statement"].([]any)
	for _, s := range stmts {
		m, _ := s.(map[string]any)
		if m == nil || m["Effect"] != "Allow" || m["Condition"] != nil && !hasIRSAShape(m) {
			continue
		}
		p, _ := m["Principal"].(map[string]any)
		acts := stringsOf(m["Action"])
		switch {
		case len(acts) == 1 && acts[0] == actionAssumeRole && p != nil && len(p) == 1 && p["AWS"] != nil:
			t.PrincipalARNs = append(t.PrincipalARNs, stringsOf(p["AWS"])...)
		case len(acts) == 1 && acts[0] == actionAssumeRoleWithIdentity && hasIRSAShape(m):
			fed := stringsOf(p["Federated"])
			issuer, _ := OIDCIssuer(fed[0])
			cond := m["Condition"].(map[string]any)["StringEquals"].(map[string]any)
			var sas []string
			for _, sub := range stringsOf(cond[issuer+":sub"]) {
				sas = append(sas, strings.TrimPrefix(sub, irsaSubjectPrefix))
			}
			t.EKSOIDC = append(t.EKSOIDC, EKSOIDCTrust{ProviderARN: fed[0], ServiceAccounts: sas})
		}
	}
	sort.Strings(t.PrincipalARNs)
	return t, len(t.PrincipalARNs) > 0 || len(t.EKSOIDC) > 0
}

// hasIRSAShape: a Federated principal with exactly the StringEquals
// aud/sub conditions spinops writes.
func hasIRSAShape(m map[string]any) bool {
	p, _ := m["Principal"].(map[string]any)
	fed := stringsOf(p["Federated"])
	if len(p) != 1 || len(fed) != 1 {
		return false
	}
	issuer, err := OIDCIssuer(fed[0])
	if err != nil {
		return false
	}
	c, _ := m["Condition"].(map[string]any)
	se, _ := c["StringEquals"].(map[string]any)
	if len(c) != 1 || len(se) != 2 {
		return false
	}
	aud := stringsOf(se[issuer+":aud"])
	subs := stringsOf(se[issuer+":sub"])
	if len(aud) != 1 || aud[0] != irsaAudience || len(subs) == 0 {
		return false
	}
	for _, s := range subs {
		if !strings.HasPrefix(s, irsaSubjectPrefix) {
			return false
		}
	}
	return true
}

// ParseSourceRolePolicy recovers managed_role_arns and bake from the
// source role's inline policy (on import).
func ParseSourceRolePolicy(doc string) (managedRoleARNs []string, bake bool) {
	v, err := parsePolicy(doc)
	if err != nil {
		return nil, false
	}
	stmts, _ := v["Statement"].([]any)
	for _, s := range stmts {
		m, _ := s.(map[string]any)
		if m == nil || m["Effect"] != "Allow" || m["Condition"] != nil {
			continue
		}
		acts := stringsOf(m["Action"])
		res := stringsOf(m["Resource"])
		switch {
		case len(acts) == 1 && acts[0] == actionAssumeRole:
			managedRoleARNs = append(managedRoleARNs, res...)
		case m["Sid"] == sidBake || len(acts) > len(DiscoveryActions) && containsAll(acts, "ec2:CreateImage", "ec2:RegisterImage", "ec2:RunInstances"):
			bake = true
		}
	}
	sort.Strings(managedRoleARNs)
	return managedRoleARNs, bake
}

func containsAll(list []string, want ...string) bool {
	have := map[string]bool{}
	for _, s := range list {
		have[s] = true
	}
	for _, w := range want {
		if !have[w] {
			return false
		}
	}
	return true
}

func stringsOf(v any) []string {
	var out []string
	for _, x := range asList(v) {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// Managed-role baselines: what a destination role grants Spinnaker in its
// account besides iam:PassRole and iam:ListServerCertificates.
const (
	// BaselinePowerUser attaches the AWS managed policy PowerUserAccess, as
	// Spinnaker's own AWS setup guide does.
	BaselinePowerUser = "power_user"
	// BaselineEC2Deploy grants only what Clouddriver needs to deploy
	// server groups (Auto Scaling groups with launch templates), security
	// groups, load balancers and their alarms.
	BaselineEC2Deploy = "ec2_deploy"
	// BaselineNone grants nothing beyond PassRole and the certificate
	// listing: attach your own policies.
	BaselineNone = "none"
)

// ManagedRoleBaselines lists the baselines, the default first.
var ManagedRoleBaselines = []string{BaselinePowerUser, BaselineEC2Deploy, BaselineNone}

// EC2DeployActions are the narrower baseline's actions.
var EC2DeployActions = []string{
	"acm:DescribeCertificate", "acm:ListCertificates",
	"autoscaling:*",
	"cloudwatch:DeleteAlarms", "cloudwatch:DescribeAlarms", "cloudwatch:GetMetricStatistics",
	"cloudwatch:ListMetrics", "cloudwatch:PutMetricAlarm",
	"ec2:AuthorizeSecurityGroupEgress", "ec2:AuthorizeSecurityGroupIngress",
	"ec2:CreateLaunchTemplate", "ec2:CreateLaunchTemplateVersion", "ec2:CreateSecurityGroup",
	"ec2:CreateTags", "ec2:DeleteLaunchTemplate", "ec2:DeleteLaunchTemplateVersions",
	"ec2:DeleteSecurityGroup", "ec2:DeleteTags", "ec2:Describe*", "ec2:GetLaunchTemplateData",
	"ec2:ModifyLaunchTemplate", "ec2:RevokeSecurityGroupEgress", "ec2:RevokeSecurityGroupIngress",
	"ec2:RunInstances", "ec2:TerminateInstances",
	"elasticloadbalancing:*",
	"iam:GetInstanceProfile", "iam:ListInstanceProfiles", "iam:ListRoles",
	"sns:ListTopics",
}

// ManagedRoleDocuments are what a target account's destination role needs.
type ManagedRoleDocuments struct {
	TrustPolicy string
	Policy      string
	// ManagedPolicyARNs are AWS managed policies to attach (the baseline).
	ManagedPolicyARNs []string
}

// ManagedRolePolicies builds the destination role's documents: trust to
// the source roles (with sts:ExternalId when externalID is set), an inline
// policy with iam:PassRole on passRoleARNs (all roles when empty),
// iam:ListServerCertificates and, for BaselineEC2Deploy, the deploy
// actions; PowerUserAccess for BaselinePowerUser. The partition of the
// managed policy ARN is the first source role's.
func ManagedRolePolicies(sourceRoleARNs []string, externalID, baseline string, passRoleARNs []string) (ManagedRoleDocuments, error) {
	if len(sourceRoleARNs) == 0 {
		return ManagedRoleDocuments{}, fmt.Errorf("no source role ARNs")
	}
	trust := Statement{Sid: sidTrustSourceRoles, Principal: map[string][]string{"AWS": sourceRoleARNs}, Action: []string{actionAssumeRole}}
	if externalID != "" {
		trust.Condition = map[string]map[string][]string{"StringEquals": {"sts:ExternalId": {externalID}}}
	}
	if len(passRoleARNs) == 0 {
		passRoleARNs = []string{"*"}
	}
	stmts := []Statement{
		{Sid: sidPassRole, Action: []string{"iam:PassRole"}, Resource: passRoleARNs},
		{Sid: sidCertificates, Action: []string{"iam:ListServerCertificates"}, Resource: []string{"*"}},
	}
	docs := ManagedRoleDocuments{TrustPolicy: PolicyDocument(trust), ManagedPolicyARNs: []string{}}
	switch baseline {
	case BaselinePowerUser, "":
		partition := "aws"
		if parts := strings.SplitN(sourceRoleARNs[0], ":", 3); len(parts) == 3 && parts[0] == "arn" {
			partition = parts[1]
		}
		docs.ManagedPolicyARNs = []string{"arn:" + partition + ":iam::aws:policy/PowerUserAccess"}
	case BaselineEC2Deploy:
		stmts = append(stmts, Statement{Sid: sidEC2Deploy, Action: EC2DeployActions, Resource: []string{"*"}})
	case BaselineNone:
	default:
		return ManagedRoleDocuments{}, fmt.Errorf("unknown baseline %q (one of %s)", baseline, strings.Join(ManagedRoleBaselines, ", "))
	}
	docs.Policy = PolicyDocument(stmts...)
	return docs, nil
}
