package aws

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
)

// Names of the inline policies spinops owns on a source role.
const (
	// SourceRolePolicyName holds discovery, sts:AssumeRole on the managed
	// roles and the bake permissions.
	SourceRolePolicyName = "spinops-source-role"
	// AdditionalPolicyName holds the user's additional_policy_json.
	AdditionalPolicyName = "spinops-additional"
)

// IAMOptions applies the IAM endpoint override to an iam client.
func (e Endpoints) IAMOptions(o *iam.Options) {
	if e.IAM != "" {
		o.BaseEndpoint = awssdk.String(e.IAM)
	}
}

// IAMClient manages Spinnaker's source role.
type IAMClient struct {
	api *iam.Client
	// retryDelay is the first pause when IAM has not caught up with itself
	// (a principal created moments ago, a role not yet visible).
	retryDelay time.Duration
}

// NewIAMClient returns a client for cfg, honouring the IAM endpoint in e.
// IAM is global: without a configured region, requests are signed for
// us-east-1, where its endpoint lives.
func NewIAMClient(cfg awssdk.Config, e Endpoints) *IAMClient {
	if cfg.Region == "" {
		cfg = cfg.Copy()
		cfg.Region = "us-east-1"
	}
	return &IAMClient{api: iam.NewFromConfig(cfg, e.IAMOptions), retryDelay: 2 * time.Second}
}

// NotFoundError is returned when a role does not exist.
type NotFoundError struct{ Name string }

func (e *NotFoundError) Error() string { return fmt.Sprintf("IAM role %q not found", e.Name) }

// IsNotFound reports whether err says the role does not exist.
func IsNotFound(err error) bool {
	var nf *NotFoundError
	var nse *iamtypes.NoSuchEntityException
	return errors.As(err, &nf) || errors.As(err, &nse)
}

// SourceRoleSpec is the source role as configured. Policy documents are
// JSON; AdditionalPolicy "" means none.
type SourceRoleSpec struct {
	Name                string
	Path                string
	Description         string
	TrustPolicy         string
	Policy              string
	AdditionalPolicy    string
	PermissionsBoundary string
	MaxSessionDuration  int32
	Tags                map[string]string
}

// SourceRole is the source role as IAM has it. Documents are decoded JSON
// as IAM returned them (not canonicalised); "" means the policy is absent.
type SourceRole struct {
	Name                string
	Path                string
	ARN                 string
	UniqueID            string
	Description         string
	TrustPolicy         string
	Policy              string
	AdditionalPolicy    string
	PermissionsBoundary string
	MaxSessionDuration  int32
	Tags                map[string]string
}

// Identity is who the role is, for trust evaluation.
func (r *SourceRole) Identity() RoleIdentity { return RoleIdentity{ARN: r.ARN, UniqueID: r.UniqueID} }

// CreateSourceRole creates the role with its trust policy, tags, boundary
// and inline policies. When a step after CreateRole fails, the role is
// deleted again so that nothing is left half made, and the error returned.
func (c *IAMClient) CreateSourceRole(ctx context.Context, spec SourceRoleSpec) (*SourceRole, error) {
	in := &iam.CreateRoleInput{
		RoleName:                 awssdk.String(spec.Name),
		AssumeRolePolicyDocument: awssdk.String(spec.TrustPolicy),
	}
	if spec.Path != "" {
		in.Path = awssdk.String(spec.Path)
	}
	if spec.Description != "" {
		in.Description = awssdk.String(spec.Description)
	}
	if spec.PermissionsBoundary != "" {
		in.PermissionsBoundary = awssdk.String(spec.PermissionsBoundary)
	}
	if spec.MaxSessionDuration > 0 {
		in.MaxSessionDuration = awssdk.Int32(spec.MaxSessionDuration)
	}
	for _, k := range slices.Sorted(maps.Keys(spec.Tags)) {
		in.Tags = append(in.Tags, iamtypes.Tag{Key: awssdk.String(k), Value: awssdk.String(spec.Tags[k])})
	}
	err := c.retryPropagation(ctx, func() error {
		_, err := c.api.CreateRole(ctx, in)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("CreateRole: %w", err)
	}
	if err := c.putPolicies(ctx, spec, nil, true); err != nil {
		if derr := c.DeleteRole(context.WithoutCancel(ctx), spec.Name); derr != nil {
			return nil, fmt.Errorf("%w (and deleting the half-made role failed: %v; delete role %s by hand)", err, derr, spec.Name)
		}
		return nil, err
	}
	return c.findAfterWrite(ctx, spec.Name)
}

// FindSourceRole reads the role and the inline policies spinops owns. It
// returns a *NotFoundError when the role does not exist.
func (c *IAMClient) FindSourceRole(ctx context.Context, name string) (*SourceRole, error) {
	out, err := c.api.GetRole(ctx, &iam.GetRoleInput{RoleName: awssdk.String(name)})
	if err != nil {
		if IsNotFound(err) {
			return nil, &NotFoundError{Name: name}
		}
		return nil, fmt.Errorf("GetRole: %w", err)
	}
	r := out.Role
	role := &SourceRole{
		Name:               awssdk.ToString(r.RoleName),
		Path:               awssdk.ToString(r.Path),
		ARN:                awssdk.ToString(r.Arn),
		UniqueID:           awssdk.ToString(r.RoleId),
		Description:        awssdk.ToString(r.Description),
		MaxSessionDuration: awssdk.ToInt32(r.MaxSessionDuration),
		Tags:               map[string]string{},
	}
	if r.PermissionsBoundary != nil {
		role.PermissionsBoundary = awssdk.ToString(r.PermissionsBoundary.PermissionsBoundaryArn)
	}
	if role.TrustPolicy, err = DecodePolicyDocument(awssdk.ToString(r.AssumeRolePolicyDocument)); err != nil {
		return nil, fmt.Errorf("role %s: trust policy: %w", name, err)
	}
	tags := iam.NewListRoleTagsPaginator(c.api, &iam.ListRoleTagsInput{RoleName: awssdk.String(name)})
	for tags.HasMorePages() {
		page, err := tags.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("ListRoleTags: %w", err)
		}
		for _, t := range page.Tags {
			role.Tags[awssdk.ToString(t.Key)] = awssdk.ToString(t.Value)
		}
	}
	if role.Policy, err = c.findRolePolicy(ctx, name, SourceRolePolicyName); err != nil {
		return nil, err
	}
	if role.AdditionalPolicy, err = c.findRolePolicy(ctx, name, AdditionalPolicyName); err != nil {
		return nil, err
	}
	return role, nil
}

// findRolePolicy returns the decoded inline policy, or "" when absent.
func (c *IAMClient) findRolePolicy(ctx context.Context, role, policy string) (string, error) {
	out, err := c.api.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: awssdk.String(role), PolicyName: awssdk.String(policy)})
	if err != nil {
		if IsNotFound(err) {
			return "", nil
		}
		return "", fmt.Errorf("GetRolePolicy %s: %w", policy, err)
	}
	doc, err := DecodePolicyDocument(awssdk.ToString(out.PolicyDocument))
	if err != nil {
		return "", fmt.Errorf("inline policy %s: %w", policy, err)
	}
	return doc, nil
}

// UpdateSourceRole brings the role in line with spec, changing only what
// differs from what IAM has now (documents are compared semantically), and
// returns the role as it then is.
func (c *IAMClient) UpdateSourceRole(ctx context.Context, spec SourceRoleSpec) (*SourceRole, error) {
	cur, err := c.FindSourceRole(ctx, spec.Name)
	if err != nil {
		return nil, err
	}
	name := awssdk.String(spec.Name)
	if !PoliciesEquivalent(cur.TrustPolicy, spec.TrustPolicy) {
		err := c.retryPropagation(ctx, func() error {
			_, err := c.api.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: name, PolicyDocument: awssdk.String(spec.TrustPolicy)})
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("UpdateAssumeRolePolicy: %w", err)
		}
	}
	if cur.Description != spec.Description || spec.MaxSessionDuration > 0 && cur.MaxSessionDuration != spec.MaxSessionDuration {
		in := &iam.UpdateRoleInput{RoleName: name, Description: awssdk.String(spec.Description)}
		if spec.MaxSessionDuration > 0 {
			in.MaxSessionDuration = awssdk.Int32(spec.MaxSessionDuration)
		}
		if _, err := c.api.UpdateRole(ctx, in); err != nil {
			return nil, fmt.Errorf("UpdateRole: %w", err)
		}
	}
	switch spec.PermissionsBoundary {
	case cur.PermissionsBoundary:
	case "":
		if _, err := c.api.DeleteRolePermissionsBoundary(ctx, &iam.DeleteRolePermissionsBoundaryInput{RoleName: name}); err != nil && !IsNotFound(err) {
			return nil, fmt.Errorf("DeleteRolePermissionsBoundary: %w", err)
		}
	default:
		if _, err := c.api.PutRolePermissionsBoundary(ctx, &iam.PutRolePermissionsBoundaryInput{RoleName: name, PermissionsBoundary: awssdk.String(spec.PermissionsBoundary)}); err != nil {
			return nil, fmt.Errorf("PutRolePermissionsBoundary: %w", err)
		}
	}
	if err := c.updateTags(ctx, spec.Name, cur.Tags, spec.Tags); err != nil {
		return nil, err
	}
	if err := c.putPolicies(ctx, spec, cur, false); err != nil {
		return nil, err
	}
	return c.FindSourceRole(ctx, spec.Name)
}

// putPolicies writes the owned inline policies that differ from cur (all of
// them when cur is nil) and deletes the additional policy when the spec has
// none. justCreated: the role was created moments ago, so "no such role"
// means IAM has not caught up yet.
func (c *IAMClient) putPolicies(ctx context.Context, spec SourceRoleSpec, cur *SourceRole, justCreated bool) error {
	if cur == nil {
		cur = &SourceRole{}
	}
	retryable := isPropagating
	if justCreated {
		retryable = func(err error) bool { return isPropagating(err) || IsNotFound(err) }
	}
	put := func(policy, doc string) error {
		return c.retry(ctx, retryable, func() error {
			_, err := c.api.PutRolePolicy(ctx, &iam.PutRolePolicyInput{
				RoleName: awssdk.String(spec.Name), PolicyName: awssdk.String(policy), PolicyDocument: awssdk.String(doc),
			})
			return err
		})
	}
	if cur.Policy == "" || !PoliciesEquivalent(cur.Policy, spec.Policy) {
		if err := put(SourceRolePolicyName, spec.Policy); err != nil {
			return fmt.Errorf("PutRolePolicy %s: %w", SourceRolePolicyName, err)
		}
	}
	switch {
	case spec.AdditionalPolicy == "" && cur.AdditionalPolicy != "":
		_, err := c.api.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: awssdk.String(spec.Name), PolicyName: awssdk.String(AdditionalPolicyName)})
		if err != nil && !IsNotFound(err) {
			return fmt.Errorf("DeleteRolePolicy %s: %w", AdditionalPolicyName, err)
		}
	case spec.AdditionalPolicy != "" && (cur.AdditionalPolicy == "" || !PoliciesEquivalent(cur.AdditionalPolicy, spec.AdditionalPolicy)):
		if err := put(AdditionalPolicyName, spec.AdditionalPolicy); err != nil {
			return fmt.Errorf("PutRolePolicy %s: %w", AdditionalPolicyName, err)
		}
	}
	return nil
}

func (c *IAMClient) updateTags(ctx context.Context, role string, cur, want map[string]string) error {
	var remove []string
	for k := range cur {
		if _, ok := want[k]; !ok {
			remove = append(remove, k)
		}
	}
	if len(remove) > 0 {
		sort.Strings(remove)
		if _, err := c.api.UntagRole(ctx, &iam.UntagRoleInput{RoleName: awssdk.String(role), TagKeys: remove}); err != nil {
			return fmt.Errorf("UntagRole: %w", err)
		}
	}
	var add []iamtypes.Tag
	for _, k := range slices.Sorted(maps.Keys(want)) {
		if v, ok := cur[k]; !ok || v != want[k] {
			add = append(add, iamtypes.Tag{Key: awssdk.String(k), Value: awssdk.String(want[k])})
		}
	}
	if len(add) > 0 {
		if _, err := c.api.TagRole(ctx, &iam.TagRoleInput{RoleName: awssdk.String(role), Tags: add}); err != nil {
			return fmt.Errorf("TagRole: %w", err)
		}
	}
	return nil
}

// DeleteRole deletes a role and everything that would stop IAM from
// deleting it: every inline policy (spinops' own and any added out of
// band), every attached managed policy, and its instance-profile
// memberships. What is already gone is not an error.
func (c *IAMClient) DeleteRole(ctx context.Context, name string) error {
	role := awssdk.String(name)
	ignoreGone := func(err error) error {
		if err == nil || IsNotFound(err) {
			return nil
		}
		return err
	}
	inline := iam.NewListRolePoliciesPaginator(c.api, &iam.ListRolePoliciesInput{RoleName: role})
	for inline.HasMorePages() {
		page, err := inline.NextPage(ctx)
		if err != nil {
			return ignoreGone(wrap("ListRolePolicies", err))
		}
		for _, p := range page.PolicyNames {
			if _, err := c.api.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: role, PolicyName: awssdk.String(p)}); ignoreGone(err) != nil {
				return fmt.Errorf("DeleteRolePolicy %s: %w", p, err)
			}
		}
	}
	attached := iam.NewListAttachedRolePoliciesPaginator(c.api, &iam.ListAttachedRolePoliciesInput{RoleName: role})
	for attached.HasMorePages() {
		page, err := attached.NextPage(ctx)
		if err != nil {
			return ignoreGone(wrap("ListAttachedRolePolicies", err))
		}
		for _, p := range page.AttachedPolicies {
			if _, err := c.api.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: role, PolicyArn: p.PolicyArn}); ignoreGone(err) != nil {
				return fmt.Errorf("DetachRolePolicy %s: %w", awssdk.ToString(p.PolicyArn), err)
			}
		}
	}
	profiles := iam.NewListInstanceProfilesForRolePaginator(c.api, &iam.ListInstanceProfilesForRoleInput{RoleName: role})
	for profiles.HasMorePages() {
		page, err := profiles.NextPage(ctx)
		if err != nil {
			return ignoreGone(wrap("ListInstanceProfilesForRole", err))
		}
		for _, p := range page.InstanceProfiles {
			_, err := c.api.RemoveRoleFromInstanceProfile(ctx, &iam.RemoveRoleFromInstanceProfileInput{RoleName: role, InstanceProfileName: p.InstanceProfileName})
			if ignoreGone(err) != nil {
				return fmt.Errorf("RemoveRoleFromInstanceProfile %s: %w", awssdk.ToString(p.InstanceProfileName), err)
			}
		}
	}
	if _, err := c.api.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: role}); ignoreGone(err) != nil {
		return fmt.Errorf("DeleteRole: %w", err)
	}
	return nil
}

func wrap(op string, err error) error { return fmt.Errorf("%s: %w", op, err) }

// ManagedRoleStatus is what the source role can tell about one managed
// role.
type ManagedRoleStatus struct {
	ARN string
	// Readable: the role could be read with the provider's credentials
	// (only roles in the provider's own account can be).
	Readable bool
	// Trust is the verdict on the role's trust policy; meaningful only when
	// Readable.
	Trust TrustVerdict
	// Detail explains an unreadable role, or repeats Trust.Detail.
	Detail string
}

// CheckManagedRoles reads each managed role the provider's credentials can
// read and evaluates whether its trust policy trusts source. IAM reads only
// roles of the caller's own account, so roles in other accounts are
// reported unreadable without a call. It never fails: per-role problems go
// into Detail.
func (c *IAMClient) CheckManagedRoles(ctx context.Context, source RoleIdentity, arns []string) []ManagedRoleStatus {
	out := make([]ManagedRoleStatus, 0, len(arns))
	for _, arn := range arns {
		out = append(out, c.checkManagedRole(ctx, source, arn))
	}
	return out
}

func (c *IAMClient) checkManagedRole(ctx context.Context, source RoleIdentity, arn string) ManagedRoleStatus {
	st := ManagedRoleStatus{ARN: arn}
	acct, own := AccountID(arn), AccountID(source.ARN)
	if acct != own {
		st.Detail = fmt.Sprintf("in account %s: IAM reads roles only in the provider's account (%s); check it there, or give it the documents of spinops_iam_managed_role_policy", acct, own)
		return st
	}
	_, resource, _ := strings.Cut(arn, ":role/")
	name := resource[strings.LastIndex(resource, "/")+1:]
	out, err := c.api.GetRole(ctx, &iam.GetRoleInput{RoleName: awssdk.String(name)})
	switch {
	case IsNotFound(err):
		st.Detail = "role does not exist"
		return st
	case err != nil:
		st.Detail = "cannot read the role: " + err.Error()
		return st
	}
	st.Readable = true
	if got := awssdk.ToString(out.Role.Arn); got != arn {
		st.Detail = fmt.Sprintf("role %s exists with ARN %s (another path): sts:AssumeRole on %s will fail", name, got, arn)
		return st
	}
	doc, err := DecodePolicyDocument(awssdk.ToString(out.Role.AssumeRolePolicyDocument))
	if err == nil {
		st.Trust, err = TrustsRole(doc, source)
	}
	if err != nil {
		st.Detail = "cannot evaluate the role's trust policy: " + err.Error()
		return st
	}
	st.Detail = st.Trust.Detail
	return st
}

// findAfterWrite reads a role just created, waiting while IAM has not
// made it visible yet.
func (c *IAMClient) findAfterWrite(ctx context.Context, name string) (*SourceRole, error) {
	var role *SourceRole
	err := c.retry(ctx, IsNotFound, func() error {
		var err error
		role, err = c.FindSourceRole(ctx, name)
		return err
	})
	return role, err
}

// retryPropagation retries fn while IAM rejects a principal it has not
// propagated yet ("Invalid principal in policy": a role created moments
// ago) or reports a concurrent modification, until ctx ends.
func (c *IAMClient) retryPropagation(ctx context.Context, fn func() error) error {
	return c.retry(ctx, isPropagating, fn)
}

func isPropagating(err error) bool {
	var mpd *iamtypes.MalformedPolicyDocumentException
	if errors.As(err, &mpd) && strings.Contains(strings.ToLower(mpd.ErrorMessage()), "invalid principal") {
		return true
	}
	var cm *iamtypes.ConcurrentModificationException
	return errors.As(err, &cm)
}

// propagationTimeout bounds waiting for IAM to catch up: a principal that
// is still invalid after it really is invalid.
const propagationTimeout = 2 * time.Minute

// retry calls fn until it succeeds, fails with an error retryable does not
// accept, or ctx ends or propagationTimeout passes (returning fn's last
// error).
func (c *IAMClient) retry(ctx context.Context, retryable func(error) bool, fn func() error) error {
	ctx, cancel := context.WithTimeout(ctx, propagationTimeout)
	defer cancel()
	delay := c.retryDelay
	for {
		err := fn()
		if err == nil || !retryable(err) {
			return err
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		delay = min(delay*2, 15*time.Second)
	}
}
