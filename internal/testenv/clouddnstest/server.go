// Package clouddnstest is a stand-in for the Google Cloud DNS API v1
// (dns.googleapis.com), served over real HTTP so that the real client
// library (google.golang.org/api/dns/v1) talks to it through
// option.WithEndpoint. There is no Cloud DNS emulator; this package copies
// the parts of the real API that `spinops migrate cutover` relies on, each
// from a cited source, and each with its own test in server_test.go:
//
//   - a change is atomic: every deletion and addition is checked against the
//     zone before anything is applied, and nothing is applied when one fails;
//   - a deletion must match the existing record set exactly (name, type, TTL,
//     data, routing policy): otherwise 412 conditionNotMet, or 404 notFound
//     when there is no record set of that name and type;
//   - an addition of an existing name and type fails with 409 alreadyExists;
//   - a CNAME record set cannot share its name with a record set of another
//     type: 400 cnameResourceRecordSetConflict;
//   - names, and CNAME data, are fully qualified with a trailing dot: 400
//     invalid otherwise;
//   - a record set holds either rrdatas or a routing policy, not both (and
//     not neither), and weighted round robin weights are not negative: 400
//     invalid otherwise;
//   - a change is "pending", then "done" (changes.get);
//   - resourceRecordSets.list filters by name and by name and type, and pages
//     with maxResults / pageToken / nextPageToken.
//
// Sources (S1-S9 in the comments below):
//
//	S1 the API's discovery document, shipped with the client library:
//	   google.golang.org/api@v0.307.0/dns/v1/dns-api.json (revision 20261009),
//	   schemas Change, ResourceRecordSet, ResourceRecordSetsListResponse and
//	   methods changes.create, changes.get, resourceRecordSets.list;
//	S2 https://docs.cloud.google.com/dns/docs/error-messages (alreadyExists,
//	   preconditionFailed, notFound, cnameResourceRecordSetConflict,
//	   invalidValue);
//	S3 https://cloud.google.com/dns/docs/reference/v1/resourceRecordSets
//	   ("A ResourceRecordSet should only have either rrdata (static) or
//	   routing_policy (dynamic). An error is returned otherwise.");
//	S4 https://cloud.google.com/dns/records/json-record (CNAME: "the hostnames
//	   must end with periods or trailing dots");
//	S5 the real API's answer to a mismatched deletion, as reported from
//	   production: "googleapi: Error 412: Precondition not met for
//	   'entity.change.deletions[0]', conditionNotMet"
//	   (github.com/kubernetes-sigs/external-dns issues 467 — caused by a TTL
//	   that differed — and 3311);
//	S6 the real API's 409 body (code, message, errors[].domain/reason
//	   "alreadyExists"), github.com/hashicorp/terraform-provider-google issue
//	   9112, and the message for a change's addition "The resource
//	   'entity.change.additions[0]' named 'x. (A)' already exists";
//	S7 "The 'entity.change.deletions[0]' resource named 'x. (A)' does not
//	   exist." (github.com/gitpod-io/gitpod issue 9784); reason notFound (S2),
//	   HTTP 404 as for every notFound of Google APIs;
//	S8 "googleapi: Error 400: Invalid value for 'entity.change.additions[0].name':
//	   'text.example.com', invalid" (hashicorp/terraform-provider-google issue
//	   634) and "... 'entity.change.additions[0].rrdata[0]': ..., invalid" for a
//	   CNAME target without the dot (issue 9074);
//	S9 "googleapi: Error 400: The resource record set 'entity.change.additions[0]'
//	   is invalid because the DNS name may have either one CNAME resource record
//	   set or resource record sets of other types, but not both.,
//	   cnameResourceRecordSetConflict" (hectorj/terraform-provider-googlesiteverification
//	   issue 17; kubernetes-sigs/external-dns issue 3885);
//	S10 "googleapi: Error 404: The 'parameters.managedZone' resource named
//	   '...' does not exist." (the real API's answer for a missing zone, as
//	   gcloud and Terraform users quote it in public notes).
//
// Not copied (our code does not depend on it): authentication and IAM,
// managed zone creation through the API, resourceRecordSets create / patch /
// delete, changes.list over HTTP, empty changes, the AIP-160 `filter` parameter, record data
// syntax beyond the trailing dot, the apex NS/SOA protection, DNSSEC, quotas.
package clouddnstest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	dns "google.golang.org/api/dns/v1"
)

// Server is a running stand-in. Its zones belong to Project.
type Server struct {
	// URL is the endpoint for option.WithEndpoint (it ends with "/").
	URL     string
	Project string

	mu    sync.Mutex
	zones map[string]*zone
	// pendingGets is how many changes.get calls of a change answer
	// "pending" before it is "done".
	pendingGets int
	// getDelay holds every changes.get answer back (a slow answer).
	getDelay    time.Duration
	afterChange func(zone string)
	srv         *httptest.Server
}

type zone struct {
	dnsName string
	rrsets  []*dns.ResourceRecordSet
	changes []*dns.Change
	gets    map[string]int
}

// Start serves a stand-in on a loopback port until t ends.
func Start(t testing.TB, project string) *Server {
	t.Helper()
	s := &Server{Project: project, zones: map[string]*zone{}}
	mux := http.NewServeMux()
	const base = "/dns/v1/projects/{project}/managedZones/{zone}"
	mux.HandleFunc("GET "+base+"/rrsets", s.listRRSets)
	mux.HandleFunc("POST "+base+"/changes", s.createChange)
	mux.HandleFunc("GET "+base+"/changes/{id}", s.getChange)
	s.srv = httptest.NewServer(mux)
	s.URL = s.srv.URL + "/"
	t.Cleanup(s.srv.Close)
	return s
}

// AddZone creates the managed zone name for dnsName (e.g. "example.com.")
// with the NS and SOA record sets Cloud DNS creates at every zone's apex.
func (s *Server) AddZone(name, dnsName string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	apex := fqdn(dnsName)
	s.zones[name] = &zone{dnsName: apex, gets: map[string]int{}, rrsets: []*dns.ResourceRecordSet{
		{Kind: "dns#resourceRecordSet", Name: apex, Type: "NS", Ttl: 21600,
			Rrdatas: []string{"ns-cloud-a1.googledomains.com.", "ns-cloud-a2.googledomains.com."}},
		{Kind: "dns#resourceRecordSet", Name: apex, Type: "SOA", Ttl: 21600,
			Rrdatas: []string{"ns-cloud-a1.googledomains.com. cloud-dns-hostmaster.google.com. 1 21600 3600 259200 300"}},
	}}
}

// SetPendingGets makes every change answer "pending" to its first n
// changes.get calls, then "done".
func (s *Server) SetPendingGets(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pendingGets = n
}

// SetGetDelay holds every changes.get answer back by d (a slow network
// or API; not a behaviour of Cloud DNS's own): a caller's deadline can then
// pass while its read is in flight.
func (s *Server) SetGetDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.getDelay = d
}

// AfterChange sets f to run after every change applied through the API,
// before its answer is sent: another writer acting at that moment.
func (s *Server) AfterChange(f func(zone string)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.afterChange = f
}

// Apply applies c to the zone as changes.create does (same checks, same
// atomicity), without HTTP: someone else's edit in a test.
func (s *Server) Apply(zoneName string, c *dns.Change) (*dns.Change, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	z, ok := s.zones[zoneName]
	if !ok {
		return nil, zoneNotFound(zoneName)
	}
	return z.apply(c)
}

// RRSets returns a copy of the zone's record sets.
func (s *Server) RRSets(zoneName string) []*dns.ResourceRecordSet {
	s.mu.Lock()
	defer s.mu.Unlock()
	z, ok := s.zones[zoneName]
	if !ok {
		return nil
	}
	return clone(z.rrsets)
}

// Changes returns a copy of the changes applied to the zone, oldest first.
func (s *Server) Changes(zoneName string) []*dns.Change {
	s.mu.Lock()
	defer s.mu.Unlock()
	z, ok := s.zones[zoneName]
	if !ok {
		return nil
	}
	return clone(z.changes)
}

// apiError is an error as Google APIs send it (S6: {"error": {"code",
// "message", "errors": [{"domain", "reason", "message"}]}}).
type apiError struct {
	Code    int
	Reason  string
	Message string
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s: %s", e.Code, e.Reason, e.Message) }

// zoneNotFound is the answer for a managed zone the project does not have
// (S10).
func zoneNotFound(name string) *apiError {
	return &apiError{http.StatusNotFound, "notFound", fmt.Sprintf("The 'parameters.managedZone' resource named '%s' does not exist.", name)}
}

func writeError(w http.ResponseWriter, err error) {
	e, ok := err.(*apiError)
	if !ok {
		e = &apiError{http.StatusInternalServerError, "internalError", err.Error()}
	}
	body := map[string]any{"error": map[string]any{"code": e.Code, "message": e.Message,
		"errors": []map[string]string{{"message": e.Message, "domain": "global", "reason": e.Reason}}}}
	writeJSON(w, e.Code, body)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) zone(r *http.Request) (*zone, error) {
	z, ok := s.zones[r.PathValue("zone")]
	if !ok || r.PathValue("project") != s.Project {
		return nil, zoneNotFound(r.PathValue("zone"))
	}
	return z, nil
}

// listRRSets is resourceRecordSets.list (S1): `name` keeps the record sets
// of that fully qualified name, `type` (with `name`) those of that type;
// maxResults cuts the answer into pages, nextPageToken says there is more
// and pageToken asks for it.
func (s *Server) listRRSets(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	z, err := s.zone(r)
	if err != nil {
		s.mu.Unlock()
		writeError(w, err)
		return
	}
	q := r.URL.Query()
	var out []*dns.ResourceRecordSet
	for _, rs := range z.rrsets {
		if n := q.Get("name"); n != "" && rs.Name != n {
			continue
		}
		if t := q.Get("type"); t != "" && rs.Type != t {
			continue
		}
		out = append(out, rs)
	}
	out = clone(out)
	s.mu.Unlock()
	start, _ := strconv.Atoi(q.Get("pageToken"))
	start = min(max(start, 0), len(out))
	resp := &dns.ResourceRecordSetsListResponse{Kind: "dns#resourceRecordSetsListResponse", Rrsets: out[start:]}
	if n, _ := strconv.Atoi(q.Get("maxResults")); n > 0 && start+n < len(out) {
		resp.Rrsets, resp.NextPageToken = out[start:start+n], strconv.Itoa(start+n)
	}
	writeJSON(w, http.StatusOK, resp)
}

// createChange is changes.create (S1): "Atomically updates the
// ResourceRecordSet collection"; the answer is the Change, "pending".
func (s *Server) createChange(w http.ResponseWriter, r *http.Request) {
	var c dns.Change
	if err := json.NewDecoder(r.Body).Decode(&c); err != nil {
		writeError(w, &apiError{http.StatusBadRequest, "parseError", "Parse Error: " + err.Error()})
		return
	}
	s.mu.Lock()
	z, err := s.zone(r)
	var applied *dns.Change
	if err == nil {
		applied, err = z.apply(&c)
	}
	after := s.afterChange
	s.mu.Unlock()
	if err != nil {
		writeError(w, err)
		return
	}
	if after != nil {
		after(r.PathValue("zone"))
	}
	writeJSON(w, http.StatusOK, applied)
}

// getChange is changes.get (S1): the Change with its status, "pending"
// until the authoritative servers were sent the update, then "done".
func (s *Server) getChange(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	delay := s.getDelay
	s.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	z, err := s.zone(r)
	if err != nil {
		writeError(w, err)
		return
	}
	id := r.PathValue("id")
	i := slices.IndexFunc(z.changes, func(c *dns.Change) bool { return c.Id == id })
	if i < 0 {
		writeError(w, &apiError{http.StatusNotFound, "notFound", fmt.Sprintf("The 'parameters.changeId' resource named '%s' does not exist.", id)})
		return
	}
	c := clone([]*dns.Change{z.changes[i]})[0]
	z.gets[id]++
	if z.gets[id] > s.pendingGets {
		c.Status = "done"
	}
	writeJSON(w, http.StatusOK, c)
}

// apply checks every item of c against the zone as the change would leave
// it and applies c only when all pass (S1: "A Change represents a set of
// ResourceRecordSet additions and deletions applied atomically"). Deletions
// come first, so a deletion and an addition of the same name and type in
// one change replace a record set (S1: "The current state of the
// ManagedZone is the sum effect of applying all Change elements").
func (z *zone) apply(c *dns.Change) (*dns.Change, error) {
	next := slices.Clone(z.rrsets)
	for i, d := range c.Deletions {
		path := fmt.Sprintf("entity.change.deletions[%d]", i)
		if err := validName(path, d.Name); err != nil {
			return nil, err
		}
		j := slices.IndexFunc(next, func(rs *dns.ResourceRecordSet) bool { return rs.Name == d.Name && rs.Type == d.Type })
		if j < 0 {
			// S7.
			return nil, &apiError{http.StatusNotFound, "notFound", fmt.Sprintf("The '%s' resource named '%s (%s)' does not exist.", path, d.Name, d.Type)}
		}
		if canonical(next[j]) != canonical(d) {
			// S1 (Change.deletions: "Must match existing data exactly"),
			// S2 (preconditionFailed: "a create change request that tries to
			// delete a resource record set that doesn't match the one that
			// already exists"), S5 (the status and reason on the wire).
			return nil, &apiError{http.StatusPreconditionFailed, "conditionNotMet", fmt.Sprintf("Precondition not met for '%s'", path)}
		}
		next = slices.Delete(next, j, j+1)
	}
	for i, a := range c.Additions {
		path := fmt.Sprintf("entity.change.additions[%d]", i)
		if err := validRRSet(path, a); err != nil {
			return nil, err
		}
		if slices.ContainsFunc(next, func(rs *dns.ResourceRecordSet) bool { return rs.Name == a.Name && rs.Type == a.Type }) {
			// S2 (alreadyExists), S6.
			return nil, &apiError{http.StatusConflict, "alreadyExists", fmt.Sprintf("The resource '%s' named '%s (%s)' already exists", path, a.Name, a.Type)}
		}
		if slices.ContainsFunc(next, func(rs *dns.ResourceRecordSet) bool {
			return rs.Name == a.Name && (rs.Type == "CNAME") != (a.Type == "CNAME")
		}) {
			// S2 (cnameResourceRecordSetConflict), S9.
			return nil, &apiError{http.StatusBadRequest, "cnameResourceRecordSetConflict", fmt.Sprintf("The resource record set '%s' is invalid because the DNS name '%s' may have either one CNAME resource record set or resource record sets of other types, but not both.", path, a.Name)}
		}
		added := clone([]*dns.ResourceRecordSet{a})[0]
		added.Kind = "dns#resourceRecordSet"
		next = append(next, added)
	}
	z.rrsets = next
	applied := clone([]*dns.Change{c})[0]
	applied.Kind, applied.Id, applied.Status = "dns#change", strconv.Itoa(len(z.changes)+1), "pending"
	applied.StartTime = time.Now().UTC().Format(time.RFC3339Nano)
	z.changes = append(z.changes, applied)
	return clone([]*dns.Change{applied})[0], nil
}

// validName: names are fully qualified, with the trailing dot (S8).
func validName(path, name string) error {
	if name == "" || !strings.HasSuffix(name, ".") {
		return &apiError{http.StatusBadRequest, "invalid", fmt.Sprintf("Invalid value for '%s.name': '%s'", path, name)}
	}
	return nil
}

// validRRSet checks what an addition must be on its own: a fully qualified
// name (S8), rrdatas or a routing policy but not both or neither (S3),
// weights of 0 or more (S1), and CNAME data that is a fully qualified name
// (S4, S8).
func validRRSet(path string, rs *dns.ResourceRecordSet) error {
	if err := validName(path, rs.Name); err != nil {
		return err
	}
	if (len(rs.Rrdatas) > 0) == (rs.RoutingPolicy != nil) {
		return &apiError{http.StatusBadRequest, "invalid", fmt.Sprintf("Invalid value for '%s': a resource record set holds either rrdatas or a routingPolicy", path)}
	}
	datas := [][]string{rs.Rrdatas}
	if rs.RoutingPolicy != nil && rs.RoutingPolicy.Wrr != nil {
		for i, it := range rs.RoutingPolicy.Wrr.Items {
			if it.Weight < 0 {
				// S1 (WrrPolicyItem.weight: "This weight must be non-negative.").
				return &apiError{http.StatusBadRequest, "invalid", fmt.Sprintf("Invalid value for '%s.routingPolicy.wrr.items[%d].weight': '%v'", path, i, it.Weight)}
			}
			datas = append(datas, it.Rrdatas)
		}
	}
	if rs.Type == "CNAME" {
		for _, d := range datas {
			for j, v := range d {
				if !strings.HasSuffix(v, ".") {
					return &apiError{http.StatusBadRequest, "invalid", fmt.Sprintf("Invalid value for '%s.rrdata[%d]': '%s'", path, j, v)}
				}
			}
		}
	}
	return nil
}

// canonical is what a deletion is compared on: name, type, TTL, data and
// routing policy (weights and data of each item, in order), without the
// output-only kind fields.
func canonical(rs *dns.ResourceRecordSet) string {
	type item struct {
		Weight  float64  `json:"w"`
		Rrdatas []string `json:"d"`
	}
	v := struct {
		Name, Type string
		TTL        int64
		Rrdatas    []string
		WRR        []item
		Other      bool
	}{Name: rs.Name, Type: rs.Type, TTL: rs.Ttl, Rrdatas: rs.Rrdatas}
	if p := rs.RoutingPolicy; p != nil {
		if p.Wrr != nil {
			for _, it := range p.Wrr.Items {
				v.WRR = append(v.WRR, item{it.Weight, it.Rrdatas})
			}
		}
		v.Other = p.Geo != nil || p.PrimaryBackup != nil
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func fqdn(name string) string { return strings.TrimSuffix(name, ".") + "." }

// clone deep-copies API objects through their JSON form.
func clone[T any](in []*T) []*T {
	b, err := json.Marshal(in)
	if err != nil {
		panic(err)
	}
	var out []*T
	if err := json.Unmarshal(b, &out); err != nil {
		panic(err)
	}
	return out
}
