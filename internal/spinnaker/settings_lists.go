package spinnaker

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// The lists of Halyard's service-settings (KubernetesSettings.java:
// kubernetes.imagePullSecrets, kubernetes.volumes,
// kubernetes.customHealthCheckExecCommands) meet two merges on their way to
// a pod, and both lose them silently unless the rendering takes care:
//
//   - spinops' own: every Clouddriver mounts the agent accounts' tokens, a
//     volume added to the service's kubernetes.volumes; set over the list
//     it would replace the volumes the user gave Clouddriver
//     (addAccountTokensVolume appends it).
//   - the operator's: its last config transformer merges the global
//     "spinnaker" service-settings under the service-settings of every
//     service of its BOM but Deck (armory/spinnaker-operator d92e6804,
//     pkg/deploy/spindeploy/transformer/spinsvcsettings.go) with
//     inspect.Merge (pkg/inspect/parse.go), which concatenates a list both
//     sides have (the global one first) but drops a global list outright
//     where the service's own settings hold the map above it without the
//     list: global kubernetes.imagePullSecrets never reach a service whose
//     own settings have any kubernetes key, and Clouddriver always has one
//     (the tokens volume). hoistGlobalLists therefore does that merge of
//     the lists itself, as inspect.Merge means it ("Arrays are merged"), and
//     leaves the operator no global list to lose.

// globalSettingsKey is the service-settings key the operator merges under
// the services of globalSettingsServices.
const globalSettingsKey = "spinnaker"

// volumeTypes are the types a kubernetes.volumes entry may have (Halyard's
// ConfigSource.Type; secret when none is given).
var volumeTypes = []string{"configMap", "emptyDir", "persistentVolumeClaim", "secret"}

// addAccountTokensVolume appends the agent accounts' tokens volume to the
// kubernetes.volumes of Clouddriver service name, after the user's own,
// unless they hold it already.
func addAccountTokensVolume(settings map[string]any, name string) error {
	own, _ := settings[name].(map[string]any)
	if own == nil {
		own = map[string]any{}
		settings[name] = own
	}
	k8s, found := own["kubernetes"]
	if !found || k8s == nil {
		k8s = map[string]any{}
		own["kubernetes"] = k8s
	}
	km, ok := k8s.(map[string]any)
	if !ok {
		return fmt.Errorf("service_settings for %s: kubernetes must be a mapping (Halyard's KubernetesSettings), not %T", name, k8s)
	}
	var volumes []any
	if v, found := km["volumes"]; found && v != nil {
		if volumes, ok = v.([]any); !ok {
			return fmt.Errorf("service_settings for %s: kubernetes.volumes must be a list of volumes ({id, type, mountPath}), not %T", name, v)
		}
	}
	for _, e := range volumes {
		// Already there, as spinops renders it (a spec adopted from
		// another spinops installation, or carried over by
		// `migrate plan --from-cluster`).
		if v, _ := e.(map[string]any); v["id"] == AccountTokensSecret && v["mountPath"] == AccountTokensDir && (v["type"] == nil || v["type"] == "secret") {
			return nil
		}
	}
	tokens := map[string]any{"id": AccountTokensSecret, "type": "secret", "mountPath": AccountTokensDir}
	km["volumes"] = append(slices.Clone(volumes), tokens)
	return nil
}

// hoistGlobalLists merges every list of the global service-settings into
// the own settings of each service the operator gives them
// (globalSettingsServices) as inspect.Merge means to: appended after the
// global list's items when the service has a list there, the global list
// when it has nothing there, nothing when its own value there (or above
// it) is not a list (the service's own value wins, as in inspect.Merge).
// The lists are then removed from the global settings, with the maps that
// held nothing else, and the global key when nothing is left in it.
func hoistGlobalLists(settings map[string]any) {
	global, _ := settings[globalSettingsKey].(map[string]any)
	if global == nil {
		return
	}
	for _, path := range listPaths(global, nil) {
		list, _ := nestedValue(global, path...).([]any)
		for _, svc := range globalSettingsServices {
			own, _ := settings[svc].(map[string]any)
			if own == nil {
				own = map[string]any{}
				settings[svc] = own
			}
			mergeListInto(own, path, list)
		}
		removeAt(global, path)
	}
	if len(global) == 0 {
		delete(settings, globalSettingsKey)
	}
}

// listPaths are the paths of the lists in m, sorted.
func listPaths(m map[string]any, prefix []string) [][]string {
	var out [][]string
	for k, v := range m {
		p := append(slices.Clone(prefix), k)
		switch v := v.(type) {
		case []any:
			out = append(out, p)
		case map[string]any:
			out = append(out, listPaths(v, p)...)
		}
	}
	slices.SortFunc(out, slices.Compare)
	return out
}

// mergeListInto merges the global list at path into own (hoistGlobalLists).
func mergeListInto(own map[string]any, path []string, list []any) {
	m := own
	for _, k := range path[:len(path)-1] {
		v, found := m[k]
		if !found {
			next := map[string]any{}
			m[k] = next
			m = next
			continue
		}
		next, ok := v.(map[string]any)
		if !ok {
			return // the service's own value wins
		}
		m = next
	}
	last := path[len(path)-1]
	v, found := m[last]
	switch {
	case !found:
		m[last] = slices.Clone(list)
	case v == nil:
		// An explicit null of the service's own: inspect.Merge keeps it.
	default:
		if ownList, ok := v.([]any); ok {
			m[last] = append(slices.Clone(list), ownList...)
		}
	}
}

// removeAt deletes the value at path from m, and each map on the way that
// it leaves empty.
func removeAt(m map[string]any, path []string) {
	if len(path) == 1 {
		delete(m, path[0])
		return
	}
	next, ok := m[path[0]].(map[string]any)
	if !ok {
		return
	}
	removeAt(next, path[1:])
	if len(next) == 0 {
		delete(m, path[0])
	}
}

// checkVolumes refuses, for every service of the rendered service-settings,
// a kubernetes.volumes entry Halyard cannot turn into a volume (no id, no
// mountPath, a type it does not know) and two entries of one id: Halyard
// keeps one volume per id but mounts every entry
// (KubernetesV2Service.combineVolumes, buildContainer), so Kubernetes would
// refuse the Deployment (a mount path twice) or mount one at the other's
// path.
func checkVolumes(settings map[string]any) error {
	for _, n := range slices.Sorted(maps.Keys(settings)) {
		v := nestedValue(settings, n, "kubernetes", "volumes")
		if v == nil {
			continue
		}
		volumes, ok := v.([]any)
		if !ok {
			return fmt.Errorf("service_settings for %s: kubernetes.volumes must be a list of volumes ({id, type, mountPath}), not %T", n, v)
		}
		seen := map[string]bool{}
		for i, e := range volumes {
			vol, ok := e.(map[string]any)
			if !ok {
				return fmt.Errorf("service_settings for %s: kubernetes.volumes[%d] must be a mapping with id, type and mountPath", n, i)
			}
			id, _ := vol["id"].(string)
			mount, _ := vol["mountPath"].(string)
			if id == "" || mount == "" {
				return fmt.Errorf("service_settings for %s: kubernetes.volumes[%d] needs an id (the Secret, ConfigMap or claim it mounts) and a mountPath", n, i)
			}
			if t, found := vol["type"]; found {
				if s, _ := t.(string); !slices.Contains(volumeTypes, s) {
					return fmt.Errorf("service_settings for %s: kubernetes.volumes[%d] (%s) has type %v; Halyard knows %s", n, i, id, t, strings.Join(volumeTypes, ", "))
				}
			}
			if id == AccountTokensSecret && mount != AccountTokensDir {
				return fmt.Errorf("service_settings for %s: volume id %q is spinops' own (the agent accounts' tokens, mounted into every Clouddriver): give your volume another id", n, id)
			}
			if seen[id] {
				return fmt.Errorf("service_settings for %s: two kubernetes.volumes have the id %q (a list in the global %q settings is added to each service's own, "+
					"and spinops adds %q to every Clouddriver's): Halyard makes one volume of them but mounts each, so Kubernetes would refuse the "+
					"Deployment or mount one volume at the other's path; keep one of them", n, id, globalSettingsKey, AccountTokensSecret)
			}
			seen[id] = true
		}
	}
	return nil
}

// MissedSettings are the service-settings under Key (the global
// "spinnaker" key, or a service's name) that do not reach the HA services
// Services although they are meant for them: the operator merges the
// global settings under the services of its BOM only, and Halyard reads an
// HA service's settings (clouddriver-rw, echo-worker, ...) from the file
// of its own name only (spinnaker/halyard 23e66d69,
// SpinnakerService.getDefaultServiceSettings: <canonical name>.yml), not
// from its base service's. Settings are the keys set (kubernetes' one
// level down).
type MissedSettings struct {
	Key      string
	Settings []string
	Services []string
}

// settingsMissed returns, for the global service-settings and for the
// settings of clouddriver and echo, the HA services of services (what
// Halyard deploys) they do not reach, when there are such settings and
// such services: those whose own settings do not set every key of them
// already.
func settingsMissed(settings map[string]any, services []Service) []MissedSettings {
	var out []MissedSettings
	for _, key := range []string{globalSettingsKey, "clouddriver", "echo"} {
		own, _ := settings[key].(map[string]any)
		if len(own) == 0 {
			continue
		}
		m := MissedSettings{Key: key}
		var paths [][]string
		for k, v := range own {
			if sub, ok := v.(map[string]any); ok && k == "kubernetes" && len(sub) > 0 {
				for kk := range sub {
					paths = append(paths, []string{k, kk})
				}
				continue
			}
			paths = append(paths, []string{k})
		}
		for _, s := range services {
			ha := !slices.Contains(globalSettingsServices, s.Name) && s.Name != "deck"
			if !ha || key != globalSettingsKey && baseService(s.Name) != key {
				continue
			}
			// An HA service whose own settings set every one of them
			// already is not missing anything.
			if !slices.ContainsFunc(paths, func(p []string) bool {
				_, found, _ := unstructured.NestedFieldNoCopy(settings, append([]string{s.Name}, p...)...)
				return !found
			}) {
				continue
			}
			m.Services = append(m.Services, s.Name)
		}
		if len(m.Services) == 0 {
			continue
		}
		for _, p := range paths {
			m.Settings = append(m.Settings, strings.Join(p, "."))
		}
		sort.Strings(m.Settings)
		out = append(out, m)
	}
	return out
}

// checkPorts refuses a service-settings port (a service's own or the
// global one) that is not a whole number in 1-65535: Halyard binds it to
// the service's Kubernetes Service and container (settingsPort).
func checkPorts(settings map[string]any) error {
	for _, n := range slices.Sorted(maps.Keys(settings)) {
		own, _ := settings[n].(map[string]any)
		v, found := own["port"]
		if !found || v == nil {
			continue // Halyard's default (a null Integer is not set)
		}
		f, ok := v.(float64)
		if !ok || f != float64(int64(f)) || f < 1 || f > 65535 {
			return fmt.Errorf("service_settings for %s: port must be a whole number from 1 to 65535 (the port of the service's Kubernetes Service and container), not %v", n, v)
		}
	}
	return nil
}

// profileServerPort is server.port of service n's profile as the
// operator reads it (armory/spinnaker-operator d92e6804,
// pkg/inspect/getter.go GetObjectProp: the nested server: {port: ...},
// else a key spelled "server.port", which Spring reads as the same
// property).
func profileServerPort(profiles map[string]any, n string) any {
	if v := nestedValue(profiles, n, "server", "port"); v != nil {
		return v
	}
	own, _ := profiles[n].(map[string]any)
	return own["server.port"]
}

// checkServerPorts refuses a profile's server.port that differs from the
// service's port: Halyard writes server.port from the service-settings'
// port into the profile it generates (spinnaker/halyard 23e66d69,
// SpringProfileFactory, ServerConfig) and binds the Service's port and
// targetPort to that port, so a server.port of the user's profile (read
// after Halyard's) makes the service listen where its Service does not send
// traffic. The operator's server-port transformer moves only the
// container's declared port and probe (armory/spinnaker-operator d92e6804,
// pkg/deploy/spindeploy/transformer/serverport.go), and Gate's exposed
// Service's targetPort (expose_service/transform.go, applyPortChanges):
// that case alone is let through.
//
// It also refuses any server.port in the profile of a service whose
// readiness probe Halyard does not make an exec probe: the transformer,
// run for every service whose profile has server.port, rewrites
// ReadinessProbe.Exec.Command without checking that there is one, so with
// Halyard's TCP probe (kubernetes.useTcpProbe) or HTTP probe
// (kubernetes.useExecHealthCheck: false; KubernetesV2Service.getProbe) it
// dereferences nil and panics. The operator (controller-runtime v0.11.2,
// no RecoverPanic) then exits, and again at each restart's reconcile:
// every zone it serves is left unreconciled.
func checkServerPorts(profiles, settings map[string]any, e *Expose) error {
	for _, n := range slices.Sorted(maps.Keys(profiles)) {
		v := profileServerPort(profiles, n)
		if v == nil {
			continue
		}
		if probe := halyardProbe(settings, n); probe != "exec" {
			return fmt.Errorf("profiles for %s set server.port %v, and Halyard gives spin-%s %s: the Spinnaker Operator's server-port "+
				"transformer, which runs for every profile with server.port, rewrites the command of an exec readiness probe without checking that there "+
				"is one, so it would crash (a nil pointer) at every reconcile, leaving every zone it serves unreconciled. Set the port in service_settings "+
				"instead (%s = \"port: %v\") and remove server.port from the profile, or keep Halyard's exec health check", n, v, n, probe, n, v)
		}
		if n == "gate" && e != nil && e.Type == ExposeService {
			continue
		}
		p, err := strconv.Atoi(strings.TrimSpace(fmt.Sprint(v)))
		if want := settingsPort(settings, n); err != nil || p != want {
			return fmt.Errorf("profiles for %s set server.port %v, but Halyard's spin-%s Service sends traffic to port %d (the service settings' port, "+
				"from which Halyard writes server.port itself): nothing would answer there. Set the port in service_settings instead "+
				"(%s = \"port: %v\") and remove server.port from the profile", n, v, n, want, n, v)
		}
	}
	return nil
}

// halyardProbe names the readiness probe Halyard gives service n's
// container under the rendered service-settings
// (KubernetesV2Service.getProbe): a TCP probe with kubernetes.useTcpProbe
// or an empty healthEndpoint, which is Deck's default (DeckService:
// healthEndpoint = null; every other service's is /health), else an exec
// probe unless kubernetes.useExecHealthCheck is false, else an HTTP one.
// It returns "exec", or what the probe is and which setting made it.
func halyardProbe(settings map[string]any, n string) string {
	switch v, ok := settingValue(settings, n, "healthEndpoint").(string); {
	case ok && v == "":
		return "a TCP readiness probe (healthEndpoint is empty)"
	case !ok && n == "deck":
		// DeckService's default settings have no healthEndpoint.
		return "a TCP readiness probe (Deck has no healthEndpoint unless its service settings give one)"
	}
	if v, _ := settingValue(settings, n, "kubernetes", "useTcpProbe").(bool); v {
		return "a TCP readiness probe (kubernetes.useTcpProbe: true)"
	}
	if v, ok := settingValue(settings, n, "kubernetes", "useExecHealthCheck").(bool); ok && !v {
		return "an HTTP readiness probe (kubernetes.useExecHealthCheck: false)"
	}
	return "exec"
}

// checkPodLabels refuses a kubernetes.podLabels app, cluster or
// app.kubernetes.io/name, for a service Halyard deploys, other than the
// label Halyard gives its pods itself (app: spin, cluster:
// spin-<service>, app.kubernetes.io/name: <service>). Halyard's Deployment
// template writes the service-settings' podLabels after its own labels
// (spinnaker/halyard 23e66d69, resources/kubernetes/manifests/
// deployment.yml) and reads the result with SnakeYAML, which keeps the
// later value of a key given twice (KubernetesV2Utils.prettify and
// parseManifest load with the defaults, duplicate keys allowed), so the
// user's label replaces Halyard's on the pods (not on the Deployment):
//   - app and cluster are the Deployment's selector (and the Service's,
//     the zone's spread constraints' and disruption budgets'): the API
//     server refuses a Deployment whose pods do not match it;
//   - app.kubernetes.io/name is how the operator's status check finds a
//     Deployment's pods (armory/spinnaker-operator d92e6804,
//     pkg/util/k8s_lookup.go GetPodsByDeployment, by the Deployment's own
//     label): it would not see that service's pods fail, and with no pod
//     found at all (a global label) it reports N/A for ever.
//
// The global "spinnaker" podLabels count for the services the operator
// merges them under (a service's own key wins, as in inspect.Merge).
func checkPodLabels(settings map[string]any, services []Service) error {
	for _, n := range slices.Sorted(maps.Keys(settings)) {
		if v := nestedValue(settings, n, "kubernetes", "podLabels"); v != nil {
			if _, ok := v.(map[string]any); !ok {
				return fmt.Errorf("service_settings for %s: kubernetes.podLabels must be a mapping of label names to values, not %T", n, v)
			}
		}
	}
	global, _ := nestedValue(settings, globalSettingsKey, "kubernetes", "podLabels").(map[string]any)
	for _, s := range services {
		own, _ := nestedValue(settings, s.Name, "kubernetes", "podLabels").(map[string]any)
		for _, l := range []struct{ key, want, why string }{
			{"app", "spin", "selects them by it (its Deployment's selector and Service; the zone's spread constraints and disruption budgets too)"},
			{"cluster", s.ObjectName(), "selects them by it (its Deployment's selector and Service; the zone's spread constraints and disruption budgets too)"},
			{"app.kubernetes.io/name", s.Name, "the operator finds a service's pods by it to report the zone's status (a zone whose pods it cannot " +
				"find is never ready, and one whose pods fail unseen waits out its timeout)"},
		} {
			where, v, found := s.Name, own[l.key], false
			if _, found = own[l.key]; !found && slices.Contains(globalSettingsServices, s.Name) {
				where = fmt.Sprintf("%s (the global settings, merged under %s's)", globalSettingsKey, s.Name)
				v, found = global[l.key]
			}
			if !found || fmt.Sprint(v) == l.want {
				continue
			}
			return fmt.Errorf("service_settings for %s: kubernetes.podLabels sets %s: %v, but Halyard labels %s's pods %s: %s itself and %s; "+
				"it writes podLabels after its own labels and keeps the later one. Give the label another key", where, l.key, v, s.ObjectName(), l.key, l.want, l.why)
		}
	}
	return nil
}

// strategySettingKeys are what Kubernetes' rollingUpdate strategy has,
// under which Halyard writes kubernetes.deploymentStrategy.strategySettings.
var strategySettingKeys = []string{"maxSurge", "maxUnavailable"}

// checkDeploymentStrategy refuses a kubernetes.deploymentStrategy Halyard
// would fail on or silently not apply (spinnaker/halyard 23e66d69,
// DeploymentStrategy.java and resources/kubernetes/manifests/
// deployment.yml): its type is an enum spelled rollingUpdate or recreate
// (Kubernetes' RollingUpdate and Recreate fail the deploy), and its
// strategySettings are written as the Deployment's rollingUpdate fields
// only when the type is rollingUpdate (with recreate they are ignored),
// where Kubernetes knows maxSurge and maxUnavailable alone (another key is
// dropped when the operator decodes the Deployment).
func checkDeploymentStrategy(settings map[string]any) error {
	for _, n := range slices.Sorted(maps.Keys(settings)) {
		v := nestedValue(settings, n, "kubernetes", "deploymentStrategy")
		if v == nil {
			continue
		}
		ds, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("service_settings for %s: kubernetes.deploymentStrategy must be a mapping with type and strategySettings, not %T", n, v)
		}
		typ := "rollingUpdate"
		if t, given := ds["type"]; given && t != nil {
			s, _ := t.(string)
			if s != "rollingUpdate" && s != "recreate" {
				return fmt.Errorf("service_settings for %s: kubernetes.deploymentStrategy.type is %v, which Halyard does not know: it spells the "+
					"strategies rollingUpdate and recreate (not Kubernetes' RollingUpdate and Recreate) and fails the deploy on anything else", n, t)
			}
			typ = s
		}
		ss, given := ds["strategySettings"]
		if !given || ss == nil {
			continue
		}
		m, ok := ss.(map[string]any)
		if !ok {
			return fmt.Errorf("service_settings for %s: kubernetes.deploymentStrategy.strategySettings must be a mapping (maxSurge, maxUnavailable), not %T", n, ss)
		}
		if len(m) > 0 && typ == "recreate" {
			return fmt.Errorf("service_settings for %s: kubernetes.deploymentStrategy has strategySettings with type recreate: Halyard writes them "+
				"only for rollingUpdate, so they would be ignored. Remove them, or use type rollingUpdate", n)
		}
		for _, k := range slices.Sorted(maps.Keys(m)) {
			if !slices.Contains(strategySettingKeys, k) {
				return fmt.Errorf("service_settings for %s: kubernetes.deploymentStrategy.strategySettings has %q: Halyard writes them as the "+
					"Deployment's rollingUpdate, which has only %s, so it would be dropped", n, k, strings.Join(strategySettingKeys, " and "))
			}
		}
	}
	// The global settings merged under the BOM's services (a service's
	// own keys winning): a global recreate with a service's own
	// strategySettings, or the other way round.
	if nestedValue(settings, globalSettingsKey, "kubernetes", "deploymentStrategy") == nil {
		return nil
	}
	for _, n := range globalSettingsServices {
		typ, _ := settingValue(settings, n, "kubernetes", "deploymentStrategy", "type").(string)
		own, _ := nestedValue(settings, n, "kubernetes", "deploymentStrategy", "strategySettings").(map[string]any)
		global, _ := nestedValue(settings, globalSettingsKey, "kubernetes", "deploymentStrategy", "strategySettings").(map[string]any)
		if typ == "recreate" && len(own)+len(global) > 0 {
			return fmt.Errorf("service_settings for %s and the global %q settings, merged under its own: kubernetes.deploymentStrategy has "+
				"strategySettings with type recreate: Halyard writes them only for rollingUpdate, so they would be ignored. Remove them, or use "+
				"type rollingUpdate", n, globalSettingsKey)
		}
	}
	return nil
}
