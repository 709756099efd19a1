package clouddnstest

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	dns "google.golang.org/api/dns/v1"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/option"
)

// Each test checks one behaviour the stand-in copies from Cloud DNS (see
// the package comment for the sources), through the real client library
// over HTTP.

const (
	project  = "spinops-test"
	zoneName = "acme"
)

func start(t *testing.T) (*Server, *dns.Service) {
	t.Helper()
	s := Start(t, project)
	s.AddZone(zoneName, "acme.example.")
	c, err := dns.NewService(t.Context(), option.WithEndpoint(s.URL), option.WithoutAuthentication())
	if err != nil {
		t.Fatal(err)
	}
	return s, c
}

func cname(name, target string, ttl int64) *dns.ResourceRecordSet {
	return &dns.ResourceRecordSet{Name: name, Type: "CNAME", Ttl: ttl, Rrdatas: []string{target}}
}

func wrr(name string, ttl int64, items ...any) *dns.ResourceRecordSet {
	p := &dns.RRSetRoutingPolicyWrrPolicy{}
	for i := 0; i < len(items); i += 2 {
		p.Items = append(p.Items, &dns.RRSetRoutingPolicyWrrPolicyWrrPolicyItem{Weight: items[i].(float64), Rrdatas: []string{items[i+1].(string)}})
	}
	return &dns.ResourceRecordSet{Name: name, Type: "CNAME", Ttl: ttl, RoutingPolicy: &dns.RRSetRoutingPolicy{Wrr: p}}
}

func create(t *testing.T, c *dns.Service, ch *dns.Change) (*dns.Change, error) {
	t.Helper()
	return c.Changes.Create(project, zoneName, ch).Context(t.Context()).Do()
}

func mustCreate(t *testing.T, c *dns.Service, ch *dns.Change) *dns.Change {
	t.Helper()
	out, err := create(t, c, ch)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func wantAPIError(t *testing.T, err error, code int, reason, inMessage string) {
	t.Helper()
	var e *googleapi.Error
	if !errors.As(err, &e) {
		t.Fatalf("got %v, want a googleapi.Error %d %s", err, code, reason)
	}
	if e.Code != code || len(e.Errors) != 1 || e.Errors[0].Reason != reason || !strings.Contains(e.Message, inMessage) {
		t.Fatalf("got %d %+v %q, want %d %s with %q", e.Code, e.Errors, e.Message, code, reason, inMessage)
	}
}

// names is "name type ttl data" of each record set at name (all when "").
func names(s *Server, name string) []string {
	var out []string
	for _, rs := range s.RRSets(zoneName) {
		if name != "" && rs.Name != name {
			continue
		}
		b := rs.Name + " " + rs.Type
		for _, d := range rs.Rrdatas {
			b += " " + d
		}
		if rs.RoutingPolicy != nil && rs.RoutingPolicy.Wrr != nil {
			for _, it := range rs.RoutingPolicy.Wrr.Items {
				b += " " + strings.Join(it.Rrdatas, ",") + "@" + strconv.FormatFloat(it.Weight, 'f', -1, 64)
			}
		}
		out = append(out, b)
	}
	return out
}

func TestListFiltersByNameAndType(t *testing.T) {
	_, c := start(t)
	mustCreate(t, c, &dns.Change{Additions: []*dns.ResourceRecordSet{
		cname("www.acme.example.", "lb.example.", 60),
		{Name: "mail.acme.example.", Type: "A", Ttl: 60, Rrdatas: []string{"192.0.2.1"}},
		{Name: "mail.acme.example.", Type: "TXT", Ttl: 60, Rrdatas: []string{`"v=spf1 -all"`}},
	}})
	list := func(name, typ string) []string {
		call := c.ResourceRecordSets.List(project, zoneName)
		if name != "" {
			call = call.Name(name)
		}
		if typ != "" {
			call = call.Type(typ)
		}
		out, err := call.Context(t.Context()).Do()
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, rs := range out.Rrsets {
			got = append(got, rs.Name+" "+rs.Type)
		}
		return got
	}
	if got := strings.Join(list("", ""), ", "); got != "acme.example. NS, acme.example. SOA, www.acme.example. CNAME, mail.acme.example. A, mail.acme.example. TXT" {
		t.Errorf("everything: %s", got)
	}
	if got := strings.Join(list("mail.acme.example.", ""), ", "); got != "mail.acme.example. A, mail.acme.example. TXT" {
		t.Errorf("by name: %s", got)
	}
	if got := strings.Join(list("mail.acme.example.", "TXT"), ", "); got != "mail.acme.example. TXT" {
		t.Errorf("by name and type: %s", got)
	}
	if got := list("nope.acme.example.", "CNAME"); len(got) != 0 {
		t.Errorf("a name without records: %v", got)
	}
}

func TestListPages(t *testing.T) {
	_, c := start(t)
	var adds []*dns.ResourceRecordSet
	for _, n := range []string{"a", "b", "c", "d", "e"} {
		adds = append(adds, cname(n+".acme.example.", "lb.example.", 60))
	}
	mustCreate(t, c, &dns.Change{Additions: adds})
	first, err := c.ResourceRecordSets.List(project, zoneName).MaxResults(3).Context(t.Context()).Do()
	if err != nil {
		t.Fatal(err)
	}
	if len(first.Rrsets) != 3 || first.NextPageToken == "" {
		t.Fatalf("first page: %d record sets, next %q", len(first.Rrsets), first.NextPageToken)
	}
	n, pages := 0, 0
	if err := c.ResourceRecordSets.List(project, zoneName).MaxResults(3).Pages(t.Context(), func(p *dns.ResourceRecordSetsListResponse) error {
		n, pages = n+len(p.Rrsets), pages+1
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if n != 7 || pages != 3 {
		t.Errorf("%d record sets in %d pages, want 7 (NS, SOA and 5) in 3", n, pages)
	}
}

func TestChangeIsPendingThenDone(t *testing.T) {
	s, c := start(t)
	s.SetPendingGets(2)
	ch := mustCreate(t, c, &dns.Change{Additions: []*dns.ResourceRecordSet{cname("www.acme.example.", "lb.example.", 60)}})
	if ch.Status != "pending" || ch.Id == "" || len(ch.Additions) != 1 {
		t.Fatalf("created: %+v", ch)
	}
	var got []string
	for range 3 {
		g, err := c.Changes.Get(project, zoneName, ch.Id).Context(t.Context()).Do()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, g.Status)
	}
	if strings.Join(got, " ") != "pending pending done" {
		t.Errorf("statuses: %v", got)
	}
	_, err := c.Changes.Get(project, zoneName, "999").Context(t.Context()).Do()
	wantAPIError(t, err, 404, "notFound", "999")
}

func TestDeletionMustMatchExactly(t *testing.T) {
	s, c := start(t)
	mustCreate(t, c, &dns.Change{Additions: []*dns.ResourceRecordSet{
		cname("www.acme.example.", "lb.example.", 60), wrr("api.acme.example.", 60, 90.0, "old.example.", 10.0, "new.example.")}})
	before := names(s, "")
	for _, d := range []*dns.ResourceRecordSet{
		cname("www.acme.example.", "lb.example.", 300),                           // another TTL
		cname("www.acme.example.", "other.example.", 60),                         // other data
		wrr("api.acme.example.", 60, 50.0, "old.example.", 50.0, "new.example."), // other weights
		wrr("api.acme.example.", 60, 10.0, "new.example.", 90.0, "old.example."), // other order
		cname("api.acme.example.", "old.example.", 60),                           // data instead of the routing policy
	} {
		_, err := create(t, c, &dns.Change{Deletions: []*dns.ResourceRecordSet{d}})
		wantAPIError(t, err, 412, "conditionNotMet", "Precondition not met for 'entity.change.deletions[0]'")
	}
	if got := names(s, ""); strings.Join(got, "|") != strings.Join(before, "|") {
		t.Fatalf("a refused deletion changed the zone: %v", got)
	}
	mustCreate(t, c, &dns.Change{Deletions: []*dns.ResourceRecordSet{
		cname("www.acme.example.", "lb.example.", 60), wrr("api.acme.example.", 60, 90.0, "old.example.", 10.0, "new.example.")}})
	if got := names(s, "www.acme.example."); len(got) != 0 {
		t.Errorf("after an exact deletion: %v", got)
	}
}

func TestDeletionOfMissingRRSetIsNotFound(t *testing.T) {
	_, c := start(t)
	_, err := create(t, c, &dns.Change{Deletions: []*dns.ResourceRecordSet{cname("www.acme.example.", "lb.example.", 60)}})
	wantAPIError(t, err, 404, "notFound", "The 'entity.change.deletions[0]' resource named 'www.acme.example. (CNAME)' does not exist.")
}

func TestAdditionOfExistingNameAndTypeIsAlreadyExists(t *testing.T) {
	s, c := start(t)
	mustCreate(t, c, &dns.Change{Additions: []*dns.ResourceRecordSet{cname("www.acme.example.", "lb.example.", 60)}})
	_, err := create(t, c, &dns.Change{Additions: []*dns.ResourceRecordSet{cname("www.acme.example.", "other.example.", 60)}})
	wantAPIError(t, err, 409, "alreadyExists", "The resource 'entity.change.additions[0]' named 'www.acme.example. (CNAME)' already exists")
	if got := names(s, "www.acme.example."); strings.Join(got, "|") != "www.acme.example. CNAME lb.example." {
		t.Errorf("after the refused addition: %v", got)
	}
}

func TestDeleteAndAddInOneChangeReplaces(t *testing.T) {
	s, c := start(t)
	mustCreate(t, c, &dns.Change{Additions: []*dns.ResourceRecordSet{cname("www.acme.example.", "old.example.", 60)}})
	mustCreate(t, c, &dns.Change{Deletions: []*dns.ResourceRecordSet{cname("www.acme.example.", "old.example.", 60)},
		Additions: []*dns.ResourceRecordSet{wrr("www.acme.example.", 60, 90.0, "old.example.", 10.0, "new.example.")}})
	if got := names(s, "www.acme.example."); strings.Join(got, "|") != "www.acme.example. CNAME old.example.@90 new.example.@10" {
		t.Errorf("after the replacement: %v", got)
	}
}

func TestChangeIsAtomic(t *testing.T) {
	s, c := start(t)
	mustCreate(t, c, &dns.Change{Additions: []*dns.ResourceRecordSet{cname("www.acme.example.", "old.example.", 60), cname("api.acme.example.", "old.example.", 60)}})
	before := names(s, "")
	// The first deletion and the first addition are valid; the second
	// addition is not: nothing of the change may be applied.
	_, err := create(t, c, &dns.Change{
		Deletions: []*dns.ResourceRecordSet{cname("www.acme.example.", "old.example.", 60)},
		Additions: []*dns.ResourceRecordSet{cname("www.acme.example.", "new.example.", 60), cname("api.acme.example.", "new.example.", 60)}})
	wantAPIError(t, err, 409, "alreadyExists", "entity.change.additions[1]")
	// A valid deletion followed by a mismatched one.
	_, err = create(t, c, &dns.Change{Deletions: []*dns.ResourceRecordSet{cname("www.acme.example.", "old.example.", 60), cname("api.acme.example.", "old.example.", 1)}})
	wantAPIError(t, err, 412, "conditionNotMet", "entity.change.deletions[1]")
	if got := names(s, ""); strings.Join(got, "|") != strings.Join(before, "|") {
		t.Fatalf("a refused change was partly applied: %v, want %v", got, before)
	}
	if n := len(s.Changes(zoneName)); n != 1 {
		t.Errorf("%d changes recorded, want the one applied", n)
	}
}

func TestCNAMECannotCoexistWithOtherTypes(t *testing.T) {
	s, c := start(t)
	mustCreate(t, c, &dns.Change{Additions: []*dns.ResourceRecordSet{
		cname("www.acme.example.", "lb.example.", 60), {Name: "mail.acme.example.", Type: "A", Ttl: 60, Rrdatas: []string{"192.0.2.1"}}}})
	_, err := create(t, c, &dns.Change{Additions: []*dns.ResourceRecordSet{{Name: "www.acme.example.", Type: "TXT", Ttl: 60, Rrdatas: []string{`"x"`}}}})
	wantAPIError(t, err, 400, "cnameResourceRecordSetConflict", "may have either one CNAME resource record set or resource record sets of other types, but not both")
	_, err = create(t, c, &dns.Change{Additions: []*dns.ResourceRecordSet{cname("mail.acme.example.", "lb.example.", 60)}})
	wantAPIError(t, err, 400, "cnameResourceRecordSetConflict", "'entity.change.additions[0]'")
	// At the apex, beside the zone's NS and SOA.
	_, err = create(t, c, &dns.Change{Additions: []*dns.ResourceRecordSet{cname("acme.example.", "lb.example.", 60)}})
	wantAPIError(t, err, 400, "cnameResourceRecordSetConflict", "acme.example.")
	// Once the A record is gone (in the same change), a CNAME may take the name.
	mustCreate(t, c, &dns.Change{Deletions: []*dns.ResourceRecordSet{{Name: "mail.acme.example.", Type: "A", Ttl: 60, Rrdatas: []string{"192.0.2.1"}}},
		Additions: []*dns.ResourceRecordSet{cname("mail.acme.example.", "lb.example.", 60)}})
	if got := names(s, "mail.acme.example."); strings.Join(got, "|") != "mail.acme.example. CNAME lb.example." {
		t.Errorf("mail after the swap: %v", got)
	}
}

func TestNamesAndCNAMEDataAreFullyQualified(t *testing.T) {
	s, c := start(t)
	_, err := create(t, c, &dns.Change{Additions: []*dns.ResourceRecordSet{cname("www.acme.example", "lb.example.", 60)}})
	wantAPIError(t, err, 400, "invalid", "Invalid value for 'entity.change.additions[0].name': 'www.acme.example'")
	_, err = create(t, c, &dns.Change{Additions: []*dns.ResourceRecordSet{cname("www.acme.example.", "lb.example", 60)}})
	wantAPIError(t, err, 400, "invalid", "Invalid value for 'entity.change.additions[0].rrdata[0]': 'lb.example'")
	_, err = create(t, c, &dns.Change{Additions: []*dns.ResourceRecordSet{wrr("www.acme.example.", 60, 1.0, "a.example.", 1.0, "b.example")}})
	wantAPIError(t, err, 400, "invalid", "'b.example'")
	_, err = create(t, c, &dns.Change{Deletions: []*dns.ResourceRecordSet{cname("www.acme.example", "lb.example.", 60)}})
	wantAPIError(t, err, 400, "invalid", "Invalid value for 'entity.change.deletions[0].name'")
	if got := names(s, "www.acme.example."); len(got) != 0 {
		t.Errorf("an invalid addition was applied: %v", got)
	}
}

func TestRRDatasOrRoutingPolicyAndWeights(t *testing.T) {
	_, c := start(t)
	both := wrr("www.acme.example.", 60, 1.0, "a.example.")
	both.Rrdatas = []string{"b.example."}
	_, err := create(t, c, &dns.Change{Additions: []*dns.ResourceRecordSet{both}})
	wantAPIError(t, err, 400, "invalid", "'entity.change.additions[0]'")
	_, err = create(t, c, &dns.Change{Additions: []*dns.ResourceRecordSet{{Name: "www.acme.example.", Type: "CNAME", Ttl: 60}}})
	wantAPIError(t, err, 400, "invalid", "'entity.change.additions[0]'")
	_, err = create(t, c, &dns.Change{Additions: []*dns.ResourceRecordSet{wrr("www.acme.example.", 60, -1.0, "a.example.", 2.0, "b.example.")}})
	wantAPIError(t, err, 400, "invalid", "'entity.change.additions[0].routingPolicy.wrr.items[0].weight'")
	mustCreate(t, c, &dns.Change{Additions: []*dns.ResourceRecordSet{wrr("www.acme.example.", 60, 0.0, "a.example.", 2.0, "b.example.")}})
}

func TestUnknownZoneIsNotFound(t *testing.T) {
	_, c := start(t)
	_, err := c.ResourceRecordSets.List(project, "nope").Context(t.Context()).Do()
	wantAPIError(t, err, 404, "notFound", "The 'parameters.managedZone' resource named 'nope' does not exist.")
	_, err = c.Changes.Create("another-project", zoneName, &dns.Change{Additions: []*dns.ResourceRecordSet{cname("www.acme.example.", "lb.example.", 60)}}).Context(t.Context()).Do()
	wantAPIError(t, err, 404, "notFound", "parameters.managedZone")
}

// TestAfterChangeRunsBeforeTheAnswer checks the test hook: another writer
// acts after a change is applied and before its caller hears of it.
func TestAfterChangeRunsBeforeTheAnswer(t *testing.T) {
	s, c := start(t)
	s.AfterChange(func(z string) {
		_, _ = s.Apply(z, &dns.Change{Additions: []*dns.ResourceRecordSet{{Name: "other.acme.example.", Type: "A", Ttl: 60, Rrdatas: []string{"192.0.2.9"}}}})
	})
	mustCreate(t, c, &dns.Change{Additions: []*dns.ResourceRecordSet{cname("www.acme.example.", "lb.example.", 60)}})
	if got := names(s, "other.acme.example."); len(got) != 1 {
		t.Errorf("the other writer's record: %v", got)
	}
	if n := len(s.Changes(zoneName)); n != 2 {
		t.Errorf("%d changes, want 2", n)
	}
}
