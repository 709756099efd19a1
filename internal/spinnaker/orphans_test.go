package spinnaker

import "testing"

// TestOrphanCandidates_everyServiceAZoneCanRun: removeOrphans removes only
// Deployments named after a service some zone can run, so each name
// Services gives, under every combination of the settings that choose
// them, must be a candidate (one left out would be left running after the
// setting that chose it is turned off), and nothing else is.
func TestOrphanCandidates_everyServiceAZoneCanRun(t *testing.T) {
	seen := map[string]bool{}
	for _, ha := range []*HA{nil, {Enabled: false, ClouddriverSplit: true}, {Enabled: true}, {Enabled: true, ClouddriverSplit: true}} {
		for _, auth := range []*Auth{nil, {OAuth2: &OAuth2{}}, {SAML: &SAML{}}, {LDAP: &LDAP{}}} {
			for _, canary := range []bool{false, true} {
				inst := &Installation{Auth: auth, Features: map[string]bool{"canary": canary}}
				for _, s := range Services(inst, &Zone{HA: ha}) {
					seen[s.ObjectName()] = true
					if !orphanCandidates[s.ObjectName()] {
						t.Errorf("%s (ha %+v, auth %+v, canary %v) is not an orphan candidate: it would never be removed", s.ObjectName(), ha, auth, canary)
					}
				}
			}
		}
	}
	for name := range orphanCandidates {
		if !seen[name] {
			t.Errorf("orphan candidate %s is not a service any zone runs", name)
		}
	}
}
