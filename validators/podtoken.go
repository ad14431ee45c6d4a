package validators

import (
	"strconv"

	corev1 "k8s.io/api/core/v1"
)

// checkTokenReadable predicts IRSA042 by modelling how the kubelet writes the projected
// token file, rather than guessing from runAsUser alone. Since Kubernetes 1.19
// (kubernetes/kubernetes#89193, KEP sig-storage "Service Account Token Volumes", file
// permission handling) pkg/volume/projected/projected.go collectData does:
//
//	// When FsGroup is set, we depend on SetVolumeOwnership to
//	// change from 0600 to 0640.
//	mode := *s.source.DefaultMode
//	if mounterArgs.FsUser != nil || mounterArgs.FsGroup != nil {
//		mode = 0600
//	}
//
// with the file owned by FsUser, which pkg/volume/util/util.go FsUserFrom sets only when every
// container of the pod has the same effective runAsUser (nil as soon as one container has
// none or two differ), and group fsGroup with 0440 added by SetVolumeOwnership
// (pkg/volume/volume_linux.go). DefaultMode is defaulted to 0644 by the API server and
// pod-identity-webhook does not set it. So, contrary to the folklore from before 1.19 (when the
// token was always 0600 root:root, pod-identity-webhook issue #8), containers with differing
// runAsUser and no fsGroup get a 0644 file they can read; the token is unreadable only when a
// restrictive defaultMode meets a non-root container with no fsGroup to grant group read.
func checkTokenReadable(p podView, containers []indexedContainer) []Finding {
	vol := p.volume(irsaTokenVolume)
	if !isTokenVolume(vol) {
		return nil
	}
	f := tokenFile(p.pod, vol)
	var out []Finding
	for _, c := range containers {
		if !mounts(c.Container, irsaTokenVolume) {
			continue
		}
		uid, gid, nonRoot := effectiveUser(p.pod, c.Container)
		if f.readableBy(uid, gid, p.pod) {
			continue
		}
		who := "a non-root user"
		if uid != nil {
			who = "UID " + strconv.FormatInt(*uid, 10)
		} else if !nonRoot {
			who = "the image's user if not root"
		}
		out = append(out, NewFinding(CheckPodTokenUnreadable, p.obj.WithContainer(c.Name).WithField(c.path),
			"container "+Quote(c.Name, 30)+" runs as "+who+" but the token file is mode "+
				strconv.FormatUint(uint64(f.mode), 8)+" and there is no fsGroup"))
	}
	return out
}

// projectedFile is the owner, group and mode the kubelet gives the token file.
type projectedFile struct {
	uid, gid int64
	mode     uint32
}

func tokenFile(pod *corev1.Pod, vol *corev1.Volume) projectedFile {
	f := projectedFile{mode: 0o644}
	if vol.Projected.DefaultMode != nil {
		f.mode = uint32(*vol.Projected.DefaultMode) & 0o777 //nolint:gosec // masked to permission bits; the API server rejects modes outside 0-0777
	}
	fsUser := fsUserFrom(pod)
	var fsGroup *int64
	if sc := pod.Spec.SecurityContext; sc != nil {
		fsGroup = sc.FSGroup
	}
	if fsUser == nil && fsGroup == nil {
		return f
	}
	f.mode = 0o600
	if fsUser != nil {
		f.uid = *fsUser
	}
	if fsGroup != nil {
		f.gid = *fsGroup
		f.mode |= 0o440
	}
	return f
}

// readableBy applies the Unix permission check. A nil uid is unknown (the image's USER): it
// passes only through the world-read bit or the fsGroup, since the file's owner is then root.
func (f projectedFile) readableBy(uid, gid *int64, pod *corev1.Pod) bool {
	if f.mode&0o004 != 0 {
		return true
	}
	if uid != nil && (*uid == 0 || (*uid == f.uid && f.mode&0o400 != 0)) {
		return true
	}
	if f.mode&0o040 == 0 {
		return false
	}
	if gid != nil && *gid == f.gid {
		return true
	}
	if sc := pod.Spec.SecurityContext; sc != nil {
		if sc.FSGroup != nil && *sc.FSGroup == f.gid {
			return true
		}
		for _, g := range sc.SupplementalGroups {
			if g == f.gid {
				return true
			}
		}
	}
	return false
}

// fsUserFrom mirrors pkg/volume/util/util.go FsUserFrom over every container the kubelet
// visits (init, regular and ephemeral): the shared runAsUser, or nil.
func fsUserFrom(pod *corev1.Pod) *int64 {
	var fsUser *int64
	visit := func(c *corev1.Container) bool {
		uid, _, _ := effectiveUser(pod, c)
		if uid == nil || (fsUser != nil && *fsUser != *uid) {
			fsUser = nil
			return false
		}
		fsUser = uid
		return true
	}
	for i := range pod.Spec.InitContainers {
		if !visit(&pod.Spec.InitContainers[i]) {
			return nil
		}
	}
	for i := range pod.Spec.Containers {
		if !visit(&pod.Spec.Containers[i]) {
			return nil
		}
	}
	for i := range pod.Spec.EphemeralContainers {
		c := corev1.Container(pod.Spec.EphemeralContainers[i].EphemeralContainerCommon)
		if !visit(&c) {
			return nil
		}
	}
	return fsUser
}

// effectiveUser is the container's runAsUser / runAsGroup (container over pod) and whether
// runAsNonRoot is set, as securitycontext.DetermineEffectiveSecurityContext resolves them.
func effectiveUser(pod *corev1.Pod, c *corev1.Container) (uid, gid *int64, nonRoot bool) {
	if sc := pod.Spec.SecurityContext; sc != nil {
		uid, gid = sc.RunAsUser, sc.RunAsGroup
		nonRoot = sc.RunAsNonRoot != nil && *sc.RunAsNonRoot
	}
	if sc := c.SecurityContext; sc != nil {
		if sc.RunAsUser != nil {
			uid = sc.RunAsUser
		}
		if sc.RunAsGroup != nil {
			gid = sc.RunAsGroup
		}
		if sc.RunAsNonRoot != nil {
			nonRoot = *sc.RunAsNonRoot
		}
	}
	return uid, gid, nonRoot
}

func mounts(c *corev1.Container, volume string) bool {
	for _, m := range c.VolumeMounts {
		if m.Name == volume {
			return true
		}
	}
	return false
}

// PodNeedsFSGroup reports whether setting spec.securityContext.fsGroup would make the token
// readable where IRSA042 fires: the fsGroup fixer's trigger.
func PodNeedsFSGroup(pod *corev1.Pod) bool {
	if pod == nil || (pod.Spec.SecurityContext != nil && pod.Spec.SecurityContext.FSGroup != nil) {
		return false
	}
	p := podView{pod: pod, obj: PodObject(pod), skip: map[string]bool{}}
	skip, _ := SkipContainers(pod.Annotations)
	for _, n := range skip {
		p.skip[n] = true
	}
	return len(checkTokenReadable(p, p.containers())) > 0
}
