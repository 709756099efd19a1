package migrate

// This file: the cutover's DNS on Google Cloud DNS. A name's CNAME is one
// record set there: plain (rrdatas) or weighted (a weighted round robin
// routing policy whose items carry a weight and a target each), and every
// edit is one atomic change of deletions (the exact current record set) and
// additions.

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"
	"time"

	dns "google.golang.org/api/dns/v1"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/option"
)

// CloudDNS is a managed zone of Google Cloud DNS.
type CloudDNS struct {
	Service *dns.Service
	Project string
	// Zone is the managed zone's name (or ID).
	Zone string
	// PollInterval is the first wait before a change's status is read
	// again (default 1 s); it doubles up to 10 s.
	PollInterval time.Duration
	// WaitTimeout bounds the wait for a change to be done (default 5 min).
	WaitTimeout time.Duration
}

var _ DNS = (*CloudDNS)(nil)

// NewCloudDNS returns the managed zone zone of project. Credentials are
// Application Default Credentials. endpoint, when set, replaces the public
// endpoint: an https:// one (a Private Service Connect endpoint) is called
// with the same credentials, an http:// one (a local stand-in) without
// any, so no token ever travels in clear text.
func NewCloudDNS(ctx context.Context, project, zone, endpoint string) (*CloudDNS, error) {
	if project == "" || zone == "" {
		return nil, errors.New("give the Cloud DNS project and the managed zone's name")
	}
	opts := []option.ClientOption{option.WithScopes(dns.NdevClouddnsReadwriteScope)}
	switch {
	case endpoint == "":
	case strings.HasPrefix(endpoint, "https://"):
		opts = append(opts, option.WithEndpoint(strings.TrimSuffix(endpoint, "/")+"/"))
	case strings.HasPrefix(endpoint, "http://"):
		opts = append(opts, option.WithEndpoint(strings.TrimSuffix(endpoint, "/")+"/"), option.WithoutAuthentication())
	default:
		return nil, fmt.Errorf("the Cloud DNS endpoint %q is not a URL: give https://... (or http://... for a local stand-in, called without credentials)", endpoint)
	}
	svc, err := dns.NewService(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("creating the Cloud DNS client (credentials: Application Default Credentials, e.g. `gcloud auth application-default login` or GOOGLE_APPLICATION_CREDENTIALS): %w", err)
	}
	return &CloudDNS{Service: svc, Project: project, Zone: zone}, nil
}

func (c *CloudDNS) String() string { return "Cloud DNS zone " + c.Zone + " of project " + c.Project }

const cnameType = "CNAME"

// Records returns the CNAME of name: one record when plain, one per item
// of its weighted round robin policy when weighted (SetIdentifier "wrr-N",
// N the item's position; Weight the item's weight).
func (c *CloudDNS) Records(ctx context.Context, name string) ([]DNSRecord, error) {
	name = fqdn(name)
	var sets []*dns.ResourceRecordSet
	err := c.Service.ResourceRecordSets.List(c.Project, c.Zone).Name(name).Type(cnameType).Pages(ctx, func(p *dns.ResourceRecordSetsListResponse) error {
		for _, rs := range p.Rrsets {
			if fqdn(rs.Name) == name && rs.Type == cnameType {
				sets = append(sets, rs)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing %s in %s: %w", name, c, err)
	}
	switch len(sets) {
	case 0:
		return nil, nil
	case 1:
	default:
		return nil, fmt.Errorf("%s in %s has %d CNAME record sets", name, c, len(sets))
	}
	rs := sets[0]
	switch p := rs.RoutingPolicy; {
	case p == nil:
		if len(rs.Rrdatas) != 1 {
			return nil, fmt.Errorf("%s in %s is not a plain CNAME (%d values)", name, c, len(rs.Rrdatas))
		}
		return []DNSRecord{{Name: name, Target: strings.TrimSuffix(rs.Rrdatas[0], "."), TTL: rs.Ttl}}, nil
	case p.Wrr != nil && p.Geo == nil && p.PrimaryBackup == nil && len(rs.Rrdatas) == 0:
		recs := make([]DNSRecord, 0, len(p.Wrr.Items))
		for i, it := range p.Wrr.Items {
			if len(it.Rrdatas) != 1 || it.HealthCheckedTargets != nil {
				return nil, fmt.Errorf("%s in %s: weighted item %d is not one target (%d values, health-checked targets: %t): not a record the cutover can move",
					name, c, i, len(it.Rrdatas), it.HealthCheckedTargets != nil)
			}
			if it.Weight < 0 || it.Weight != math.Trunc(it.Weight) || it.Weight > 1<<53 {
				return nil, fmt.Errorf("%s in %s: weighted item %d has the weight %v: the cutover handles whole weights only", name, c, i, it.Weight)
			}
			w := int64(it.Weight)
			recs = append(recs, DNSRecord{Name: name, Target: strings.TrimSuffix(it.Rrdatas[0], "."), TTL: rs.Ttl,
				SetIdentifier: fmt.Sprintf("wrr-%d", i), Weight: &w})
		}
		return recs, nil
	default:
		return nil, fmt.Errorf("%s in %s has a routing policy other than weighted round robin: the cutover moves plain or weighted CNAMEs only", name, c)
	}
}

// Replace swaps old for new in one change: old, exactly as Records read
// it, is the change's deletion and new its addition. Cloud DNS applies a
// change atomically and refuses it whole when the deletion does not match
// the zone (someone else changed the name since it was read), so a name
// is never left half-switched. Replace then waits until the change is done.
// When the answer to the change is lost, the name is read back: holding
// new, the change was applied; holding old, it is sent once more; holding
// anything else, it fails.
func (c *CloudDNS) Replace(ctx context.Context, old, new []DNSRecord) error {
	del, err := c.recordSet(old)
	if err != nil {
		return err
	}
	add, err := c.recordSet(new)
	if err != nil {
		return err
	}
	change := &dns.Change{}
	var name string
	if del != nil {
		change.Deletions, name = []*dns.ResourceRecordSet{del}, del.Name
	}
	if add != nil {
		change.Additions, name = []*dns.ResourceRecordSet{add}, add.Name
	}
	switch {
	case del == nil && add == nil:
		return nil
	case del != nil && add != nil && del.Name != add.Name:
		return fmt.Errorf("replacing %s by %s in %s: one change replaces one name", del.Name, add.Name, c)
	case sameRecordSet(del, add):
		return nil
	}
	created, err := c.Service.Changes.Create(c.Project, c.Zone, change).Context(ctx).Do()
	var apiErr *googleapi.Error
	if err != nil && !errors.As(err, &apiErr) && ctx.Err() == nil {
		// No answer came (a connection reset, EOF): the request may or
		// may not have been applied. Cloud DNS applies a change whole, so
		// what the name holds now tells which (the client library and
		// net/http never send a POST again on their own).
		now, rerr := c.Records(ctx, name)
		if rerr != nil {
			return fmt.Errorf("changing %s in %s: the answer was lost (%w), and reading the name back to see whether Cloud DNS applied the change failed too (%v): run the command again to read the records anew", name, c, err, rerr)
		}
		nowSet, rerr := c.recordSet(now)
		if rerr != nil {
			return fmt.Errorf("changing %s in %s: the answer was lost (%w), and the name now holds records the cutover cannot read back (%v)", name, c, err, rerr)
		}
		switch {
		case sameRecordSet(nowSet, add):
			// Applied. Its id was in the lost answer, so its propagation
			// to Cloud DNS's name servers (pending, then done) is not
			// waited for.
			return nil
		case sameRecordSet(nowSet, del):
			// Not applied: sent once more, its deletions still guarding
			// it against a change made meanwhile.
			created, err = c.Service.Changes.Create(c.Project, c.Zone, change).Context(ctx).Do()
		default:
			return fmt.Errorf("changing %s in %s: the answer was lost (%w), and the name now holds neither the records read nor the new ones: someone else changed it; run the command again to read them anew", name, c, err)
		}
	}
	if err != nil {
		return fmt.Errorf("changing %s in %s: %s%w", name, c, refusal(err), err)
	}
	return c.waitDone(ctx, name, created)
}

// refusal explains the answers of Cloud DNS that mean the change was
// refused as a whole.
func refusal(err error) string {
	var e *googleapi.Error
	if !errors.As(err, &e) || e.Code < 400 || e.Code >= 500 {
		return ""
	}
	switch {
	case e.Code == http.StatusNotFound && !strings.Contains(e.Message, "entity.change"):
		return "no such managed zone in the project (check the project and the zone's name); nothing was applied: "
	case e.Code == http.StatusPreconditionFailed || e.Code == http.StatusNotFound || e.Code == http.StatusConflict:
		return "the records changed since they were read, Cloud DNS refused the change and applied nothing (run the command again to read them anew): "
	case e.Code == http.StatusForbidden || e.Code == http.StatusUnauthorized:
		return "not allowed (the caller needs roles/dns.admin, or dns.changes.create, dns.changes.get, dns.resourceRecordSets.list and dns.resourceRecordSets.create/update/delete, on the zone); nothing was applied: "
	default:
		return "Cloud DNS refused the change and applied nothing: "
	}
}

// waitDone polls the change until Cloud DNS says it is done, waiting
// longer each time, bounded by ctx and WaitTimeout.
func (c *CloudDNS) waitDone(ctx context.Context, name string, ch *dns.Change) error {
	interval, timeout := c.PollInterval, c.WaitTimeout
	if interval <= 0 {
		interval = time.Second
	}
	if timeout <= 0 {
		timeout = 5 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	status := ch.Status
	// The wait ended (deadline or cancel), between reads or during one:
	// the same answer either way.
	ended := func() error {
		return fmt.Errorf("waiting for change %s of %s in %s to be done (it is %s; Cloud DNS accepted it and holds the new records, "+
			"run the command again to go on from them): %w", ch.Id, name, c, status, ctx.Err())
	}
	for status != "done" {
		t := time.NewTimer(interval)
		select {
		case <-ctx.Done():
			t.Stop()
			return ended()
		case <-t.C:
		}
		got, err := c.Service.Changes.Get(c.Project, c.Zone, ch.Id).Context(ctx).Do()
		if err != nil {
			if ctx.Err() != nil {
				return ended()
			}
			return fmt.Errorf("reading change %s of %s in %s (Cloud DNS accepted it): %w", ch.Id, name, c, err)
		}
		status = got.Status
		interval = min(2*interval, 10*time.Second)
	}
	return nil
}

// recordSet is recs as one Cloud DNS record set: plain for one record
// without a weight, weighted round robin otherwise (items in recs' order).
// Names and targets get the trailing dot Cloud DNS requires.
func (c *CloudDNS) recordSet(recs []DNSRecord) (*dns.ResourceRecordSet, error) {
	if len(recs) == 0 {
		return nil, nil
	}
	rs := &dns.ResourceRecordSet{Name: fqdn(recs[0].Name), Type: cnameType, Ttl: recs[0].TTL}
	for _, r := range recs {
		if fqdn(r.Name) != rs.Name || r.TTL != rs.Ttl {
			return nil, fmt.Errorf("records %v for %s: one Cloud DNS record set has one name and one TTL", recs, c)
		}
		if r.Target == "" {
			return nil, fmt.Errorf("a record of %s for %s has no target", rs.Name, c)
		}
	}
	if len(recs) == 1 && recs[0].Weight == nil && recs[0].SetIdentifier == "" {
		rs.Rrdatas = []string{fqdn(recs[0].Target)}
		return rs, nil
	}
	wrr := &dns.RRSetRoutingPolicyWrrPolicy{}
	for _, r := range recs {
		if r.Weight == nil || *r.Weight < 0 {
			return nil, fmt.Errorf("records %v of %s for %s: weighted records need a weight of 0 or more each", recs, rs.Name, c)
		}
		wrr.Items = append(wrr.Items, &dns.RRSetRoutingPolicyWrrPolicyWrrPolicyItem{Weight: float64(*r.Weight),
			Rrdatas: []string{fqdn(r.Target)}, ForceSendFields: []string{"Weight"}})
	}
	rs.RoutingPolicy = &dns.RRSetRoutingPolicy{Wrr: wrr}
	return rs, nil
}

// sameRecordSet reports whether two record sets (nil: none) are the same
// for Cloud DNS.
func sameRecordSet(a, b *dns.ResourceRecordSet) bool {
	return (a == nil && b == nil) || (a != nil && b != nil && canonicalRecordSet(a) == canonicalRecordSet(b))
}

// canonicalRecordSet is what makes two record sets the same for Cloud DNS.
func canonicalRecordSet(rs *dns.ResourceRecordSet) string {
	s := fmt.Sprintf("%s %s %d %q", rs.Name, rs.Type, rs.Ttl, rs.Rrdatas)
	if rs.RoutingPolicy != nil && rs.RoutingPolicy.Wrr != nil {
		for _, it := range rs.RoutingPolicy.Wrr.Items {
			s += fmt.Sprintf(" %v@%q", it.Weight, it.Rrdatas)
		}
	}
	return s
}
