package migrate

// This file: `spinops migrate cutover`, the user-facing DNS names moved from
// the old installation to the new one (at once, or weighted step by step),
// only after the new one passed verification, with every phase recorded in
// the ledger and a rollback to the records found before the first switch.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"
	"k8s.io/client-go/kubernetes"

	"github.com/spinops/terraform-provider-spinops/internal/spinnaker"
)

// DNSRecord is one CNAME record of a name; SetIdentifier and Weight are set
// for weighted records.
type DNSRecord struct {
	Name          string `json:"name"`
	Target        string `json:"target"`
	TTL           int64  `json:"ttl"`
	SetIdentifier string `json:"set_identifier,omitempty"`
	Weight        *int64 `json:"weight,omitempty"`
}

// DNS reads and replaces the records of a name.
type DNS interface {
	// Records returns the CNAME records of name (several when weighted).
	Records(ctx context.Context, name string) ([]DNSRecord, error)
	// Replace swaps old for new in one atomic change.
	Replace(ctx context.Context, old, new []DNSRecord) error
	String() string
}

// Route53 is a hosted zone of Amazon Route 53.
type Route53 struct {
	Client *route53.Client
	ZoneID string
}

func (r *Route53) String() string { return "Route 53 zone " + r.ZoneID }

func fqdn(name string) string { return strings.TrimSuffix(name, ".") + "." }

// Records lists the CNAME records of name.
func (r *Route53) Records(ctx context.Context, name string) ([]DNSRecord, error) {
	name = fqdn(name)
	out, err := r.Client.ListResourceRecordSets(ctx, &route53.ListResourceRecordSetsInput{
		HostedZoneId: aws.String(r.ZoneID), StartRecordName: aws.String(name), StartRecordType: r53types.RRTypeCname})
	if err != nil {
		return nil, fmt.Errorf("listing %s in %s: %w", name, r, err)
	}
	var recs []DNSRecord
	for _, rs := range out.ResourceRecordSets {
		if fqdn(aws.ToString(rs.Name)) != name || rs.Type != r53types.RRTypeCname {
			continue
		}
		if len(rs.ResourceRecords) != 1 {
			return nil, fmt.Errorf("%s in %s is not a plain CNAME (%d values)", name, r, len(rs.ResourceRecords))
		}
		recs = append(recs, DNSRecord{Name: name, Target: aws.ToString(rs.ResourceRecords[0].Value), TTL: aws.ToInt64(rs.TTL),
			SetIdentifier: aws.ToString(rs.SetIdentifier), Weight: rs.Weight})
	}
	return recs, nil
}

// Replace deletes old and creates new in one change batch, which Route 53
// applies atomically. A record of new with the identity (name, set
// identifier) of one of old is an UPSERT instead of a DELETE and a CREATE.
func (r *Route53) Replace(ctx context.Context, old, new []DNSRecord) error {
	id := func(rec DNSRecord) string { return fqdn(rec.Name) + "|" + rec.SetIdentifier }
	kept := map[string]bool{}
	for _, rec := range new {
		kept[id(rec)] = true
	}
	var changes []r53types.Change
	add := func(action r53types.ChangeAction, rec DNSRecord) {
		rs := &r53types.ResourceRecordSet{Name: aws.String(fqdn(rec.Name)), Type: r53types.RRTypeCname, TTL: aws.Int64(rec.TTL),
			ResourceRecords: []r53types.ResourceRecord{{Value: aws.String(rec.Target)}}}
		if rec.SetIdentifier != "" {
			rs.SetIdentifier, rs.Weight = aws.String(rec.SetIdentifier), rec.Weight
		}
		changes = append(changes, r53types.Change{Action: action, ResourceRecordSet: rs})
	}
	replaced := map[string]bool{}
	for _, rec := range old {
		if kept[id(rec)] {
			replaced[id(rec)] = true
			continue
		}
		add(r53types.ChangeActionDelete, rec)
	}
	for _, rec := range new {
		if replaced[id(rec)] {
			add(r53types.ChangeActionUpsert, rec)
		} else {
			add(r53types.ChangeActionCreate, rec)
		}
	}
	if len(changes) == 0 {
		return nil
	}
	_, err := r.Client.ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{HostedZoneId: aws.String(r.ZoneID),
		ChangeBatch: &r53types.ChangeBatch{Comment: aws.String("spinops migrate cutover"), Changes: changes}})
	if err != nil {
		// The SDK sends a request again when its answer was lost (a
		// connection reset); a batch the first attempt applied is then
		// refused ("already exists", "not found"). Route 53 applies a
		// batch whole or not at all, so when the names hold exactly new
		// (and nothing of old is left) it was applied.
		var invalid *r53types.InvalidChangeBatch
		if errors.As(err, &invalid) {
			if done, rerr := r.holds(ctx, old, new); rerr == nil && done {
				return nil
			}
		}
		return fmt.Errorf("changing records in %s: %w", r, err)
	}
	return nil
}

// holds says whether the names of old and new hold exactly the records of
// new.
func (r *Route53) holds(ctx context.Context, old, new []DNSRecord) (bool, error) {
	key := func(rec DNSRecord) string {
		w := int64(-1)
		if rec.Weight != nil {
			w = *rec.Weight
		}
		return fmt.Sprintf("%s|%s|%s|%d|%d", fqdn(rec.Name), rec.SetIdentifier, fqdn(rec.Target), rec.TTL, w)
	}
	var names, want, have []string
	for _, rec := range slices.Concat(old, new) {
		if n := fqdn(rec.Name); !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	for _, rec := range new {
		want = append(want, key(rec))
	}
	for _, n := range names {
		recs, err := r.Records(ctx, n)
		if err != nil {
			return false, err
		}
		for _, rec := range recs {
			have = append(have, key(rec))
		}
	}
	slices.Sort(want)
	slices.Sort(have)
	return slices.Equal(want, have), nil
}

// Weighted records' set identifiers.
const (
	setOld = "spinops-old"
	setNew = "spinops-new"
)

// MigrationRecord is the migration's entry in the ledger (key "migration"
// of the promotion ledger ConfigMap in the new installation's operator
// namespace).
type MigrationRecord struct {
	// Before holds each name's records as the first switch found them: a
	// rollback puts them back.
	Before map[string][]DNSRecord `json:"before,omitempty"`
	Target string                 `json:"target,omitempty"`
	Weight int                    `json:"weight,omitempty"`
	Phases []MigrationPhase       `json:"phases"`
	// Freeze is what the freeze changed on the old installation while it
	// is frozen (freeze.go); Rollback undoes it.
	Freeze *FreezeRecord `json:"freeze,omitempty"`
}

// MigrationPhase is one step, timestamped.
type MigrationPhase struct {
	Phase  string    `json:"phase"`
	At     time.Time `json:"at"`
	Detail string    `json:"detail,omitempty"`
}

const ledgerKeyMigration = "migration"

// CutoverOptions say what to switch and how to check the new installation.
type CutoverOptions struct {
	DNS DNS
	// Names are the user-facing names (Deck's, Gate's) to move.
	Names []string
	// Target is the new installation's load balancer name.
	Target string
	// Weight is the share of traffic (1-100) the new installation gets;
	// 100 switches the names over completely.
	Weight int
	// Checks verify the new installation before any change (through its
	// own URLs, with HTTP).
	Checks     []spinnaker.Check
	VerifyOpts spinnaker.VerifyOptions
	HTTP       *http.Client
	// Zone, when set, verifies the new zone as an upgrade does, at verify
	// time: spinnaker.DeployedChecks (its SpinnakerService OK and ready,
	// every service Halyard deploys for its spec through the API server's
	// proxy, with the client it returns).
	Zone func(ctx context.Context) ([]spinnaker.Check, *http.Client, error)
	// Ledger is where the phases are recorded.
	Ledger          kubernetes.Interface
	LedgerNamespace string
	Now             func() time.Time
	// Freeze, when set, makes this a scheduled migration: the old
	// installation is frozen first (freeze.go); Rollback needs it to
	// unfreeze.
	Freeze *FreezeOptions
}

func (o *CutoverOptions) now() time.Time {
	if o.Now != nil {
		return o.Now().UTC()
	}
	return time.Now().UTC()
}

func (o *CutoverOptions) record(ctx context.Context, change func(*MigrationRecord)) error {
	r := &MigrationRecord{}
	if err := spinnaker.UpdateLedgerKey(ctx, o.Ledger, o.LedgerNamespace, ledgerKeyMigration, r, func() { change(r) }); err != nil {
		return fmt.Errorf("recording the cutover in the ledger (ConfigMap %s/%s): %w", o.LedgerNamespace, spinnaker.LedgerName, err)
	}
	return nil
}

// read returns the migration's record as the ledger holds it.
func (o *CutoverOptions) read(ctx context.Context) (*MigrationRecord, error) {
	r := &MigrationRecord{}
	if err := spinnaker.ReadLedgerKey(ctx, o.Ledger, o.LedgerNamespace, ledgerKeyMigration, r); err != nil {
		return nil, fmt.Errorf("reading the cutover from the ledger (ConfigMap %s/%s): %w", o.LedgerNamespace, spinnaker.LedgerName, err)
	}
	return r, nil
}

func (o *CutoverOptions) phase(ctx context.Context, phase, detail string) error {
	at := o.now()
	return o.record(ctx, func(r *MigrationRecord) {
		r.Phases = append(r.Phases, MigrationPhase{Phase: phase, At: at, Detail: detail})
	})
}

// Cutover verifies the new installation, then points the names at it: all
// of them with Weight 100, or that share of the traffic through weighted
// records beside the old target. Nothing changes in DNS unless every check
// passed. The records found before the first switch are kept in the ledger
// for Rollback. Phases: verify, verified (or verify-failed), switch (or
// switch-failed), done (at 100).
func Cutover(ctx context.Context, o CutoverOptions) (*MigrationRecord, error) {
	if len(o.Names) == 0 || o.Target == "" {
		return nil, errors.New("cutover: give the names to move and the new installation's target")
	}
	if o.Weight < 1 || o.Weight > 100 {
		return nil, fmt.Errorf("cutover: weight %d is not 1-100", o.Weight)
	}
	if o.Freeze != nil {
		if rec, stop, err := freezeForCutover(ctx, o); err != nil || stop {
			return rec, err
		}
	}
	var zoneChecks []spinnaker.Check
	var zoneClient *http.Client
	var zoneErr error
	if o.Zone != nil {
		zoneChecks, zoneClient, zoneErr = o.Zone(ctx)
	}
	if err := o.phase(ctx, "verify", strings.Join(append(checkNames(zoneChecks), checkNames(o.Checks)...), ", ")); err != nil {
		return nil, err
	}
	client := o.HTTP
	if client == nil {
		client = http.DefaultClient
	}
	var failures []string
	if zoneErr != nil {
		failures = append(failures, zoneErr.Error())
	} else if len(zoneChecks) > 0 {
		failures = append(failures, spinnaker.Verify(ctx, zoneClient, zoneChecks, o.VerifyOpts).Failures()...)
	}
	failures = append(failures, spinnaker.Verify(ctx, client, o.Checks, o.VerifyOpts).Failures()...)
	if len(failures) > 0 {
		msg := strings.Join(failures, "; ")
		_ = o.phase(context.WithoutCancel(ctx), "verify-failed", msg)
		return nil, fmt.Errorf("the new installation did not pass verification, DNS is unchanged: %s", msg)
	}
	if err := o.phase(ctx, "verified", ""); err != nil {
		return nil, err
	}
	rec, err := o.read(ctx)
	if err != nil {
		return nil, err
	}
	before := map[string][]DNSRecord{}
	type change struct{ old, new []DNSRecord }
	var changes []change
	for _, name := range o.Names {
		cur, err := o.DNS.Records(ctx, name)
		if err != nil {
			return nil, err
		}
		orig := cur
		if saved, ok := rec.Before[fqdn(name)]; ok {
			orig = saved
		}
		if len(orig) != 1 || orig[0].SetIdentifier != "" {
			return nil, fmt.Errorf("%s has %d records before the cutover (%v): the cutover moves one plain CNAME per name", name, len(orig), orig)
		}
		before[fqdn(name)] = orig
		changes = append(changes, change{old: cur, new: switched(orig[0], o.Target, o.Weight)})
	}
	if err := o.record(ctx, func(r *MigrationRecord) {
		if r.Before == nil {
			r.Before = map[string][]DNSRecord{}
		}
		for k, v := range before {
			if _, ok := r.Before[k]; !ok {
				r.Before[k] = v
			}
		}
	}); err != nil {
		return nil, err
	}
	var done []change
	for _, c := range changes {
		if err := o.DNS.Replace(ctx, c.old, c.new); err != nil {
			// Put back what this run already changed.
			for _, d := range slices.Backward(done) {
				_ = o.DNS.Replace(context.WithoutCancel(ctx), d.new, d.old)
			}
			_ = o.phase(context.WithoutCancel(ctx), "switch-failed", err.Error())
			return nil, fmt.Errorf("%w (the names this run had switched were put back)", err)
		}
		done = append(done, c)
	}
	detail := fmt.Sprintf("%d%% of %s to %s", o.Weight, strings.Join(o.Names, ", "), o.Target)
	if err := o.record(ctx, func(r *MigrationRecord) {
		r.Target, r.Weight = o.Target, o.Weight
		r.Phases = append(r.Phases, MigrationPhase{Phase: "switch", At: o.now(), Detail: detail})
		if o.Weight == 100 {
			at := o.now()
			r.Phases = append(r.Phases, MigrationPhase{Phase: "done", At: at, Detail: frozenFor(r, at)})
		}
		rec = r
	}); err != nil {
		return nil, err
	}
	return rec, nil
}

// switched is what a name points at after a switch of weight percent.
func switched(orig DNSRecord, target string, weight int) []DNSRecord {
	if weight == 100 {
		return []DNSRecord{{Name: orig.Name, Target: target, TTL: orig.TTL}}
	}
	oldW, newW := int64(100-weight), int64(weight)
	return []DNSRecord{
		{Name: orig.Name, Target: orig.Target, TTL: orig.TTL, SetIdentifier: setOld, Weight: &oldW},
		{Name: orig.Name, Target: target, TTL: orig.TTL, SetIdentifier: setNew, Weight: &newW},
	}
}

// Rollback points every name the cutover moved back at what it found
// before the first switch, and records it.
func Rollback(ctx context.Context, o CutoverOptions) (*MigrationRecord, error) {
	rec, err := o.read(ctx)
	if err != nil {
		return nil, err
	}
	if len(rec.Before) == 0 && rec.Freeze == nil {
		return nil, errors.New("rollback: the ledger holds no switched names and no freeze: nothing to roll back")
	}
	for _, name := range sortedKeys(rec.Before) {
		cur, err := o.DNS.Records(ctx, name)
		if err != nil {
			return nil, err
		}
		if err := o.DNS.Replace(ctx, cur, rec.Before[name]); err != nil {
			_ = o.phase(context.WithoutCancel(ctx), "rollback-failed", err.Error())
			return nil, fmt.Errorf("rolling %s back: %w (run the rollback again)", name, err)
		}
	}
	if rec.Freeze != nil { // DNS first: users return to the old installation as it thaws
		if _, err := Unfreeze(ctx, o); err != nil {
			_ = o.phase(context.WithoutCancel(ctx), "rollback-failed", err.Error())
			return nil, err
		}
	}
	if err := o.record(ctx, func(r *MigrationRecord) {
		r.Phases = append(r.Phases, MigrationPhase{Phase: "rollback", At: o.now(), Detail: strings.Join(sortedKeys(r.Before), ", ") + " back to the old installation"})
		r.Before, r.Target, r.Weight = nil, "", 0
		rec = r
	}); err != nil {
		return nil, err
	}
	return rec, nil
}

func checkNames(cs []spinnaker.Check) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Name+" "+c.URL)
	}
	return out
}
