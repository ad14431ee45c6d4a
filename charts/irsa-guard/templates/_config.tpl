{{/*
irsa-guard.args are the container arguments. They must match `irsa-guard serve`'s flags exactly
(package config); the end-to-end test starts the binary with these arguments.
*/}}
{{- define "irsa-guard.args" -}}
- serve
- --config=/etc/irsa-guard/config/config.yaml
- --cert-dir=/etc/irsa-guard/tls
- --webhook-port={{ .Values.ports.webhook }}
- --metrics-bind-address=:{{ .Values.ports.metrics }}
- --health-probe-bind-address=:{{ .Values.ports.health }}
- --log-level={{ .Values.logLevel }}
- --log-format={{ .Values.logFormat }}
{{- end }}

{{/*
irsa-guard.configFile is the server's configuration file (package config: apiVersion
irsa-guard.io/v1alpha1, kind Configuration; keys are documented in docs/configuration.md), rendered
from .Values.config. `irsa-guard lint --config` reads the same file. decisionBudget is derived from
webhook.timeoutSeconds so that irsa-guard always answers before the API server gives up: 0.5 s
below the timeout, at most 2.5 s. The audit leaves out the namespaces the webhooks never see, and
holds its Lease in the release namespace.
*/}}
{{- define "irsa-guard.configFile" -}}
{{- $c := .Values.config }}
{{- $p := $c.podIdentityWebhook }}
{{- $budgetMs := min 2500 (sub (mul (int .Values.webhook.timeoutSeconds) 1000) 500) }}
apiVersion: irsa-guard.io/v1alpha1
kind: Configuration
cluster:
  {{- with $c.clusterName }}
  name: {{ . | quote }}
  {{- end }}
  {{- with $c.clusterRegion }}
  region: {{ . | quote }}
  {{- end }}
  {{- with $c.issuer }}
  issuer: {{ . | quote }}
  {{- end }}
  {{- with $c.account }}
  account: {{ . | quote }}
  {{- end }}
  {{- with $c.partition }}
  partition: {{ . | quote }}
  {{- end }}
  podIdentityWebhook:
    configuration: {{ $p.configuration | quote }}
    name: {{ $p.name | quote }}
    audience: {{ $c.audience | quote }}
    composeRoleARN: {{ $p.composeRoleARN }}
    {{- with $p.regionalSTS }}
    regionalSTS: {{ . | quote }}
    {{- end }}
    {{- with $p.defaultRegion }}
    defaultRegion: {{ . | quote }}
    {{- end }}
    tokenExpiration: {{ int64 $p.tokenExpiration }}
aws:
  cache:
    positiveTTL: {{ $c.cache.positiveTTL }}
    negativeTTL: {{ $c.cache.negativeTTL }}
    staleTTL: {{ $c.cache.staleTTL }}
    prewarmDeadline: {{ $c.cache.prewarmDeadline }}
  iam:
    qps: {{ $c.iam.qps }}
    burst: {{ $c.iam.burst }}
  {{- with $c.readerRoles }}
  readerRoles:
    {{- range $account, $arn := . }}
    {{ $account | quote }}: {{ $arn | quote }}
    {{- end }}
  {{- end }}
policy:
  mode: {{ $c.mode }}
  {{- with $c.namespaceModes }}
  namespaceModes:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $c.checkModes }}
  checkModes:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $c.checkSeverities }}
  checkSeverities:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  failClosed: {{ $c.failClosed }}
server:
  decisionBudget: {{ $budgetMs }}ms
  shutdownDelay: {{ $c.shutdownDelay }}
  fixers:
    composeRoleARN: {{ $c.fixers.composeRoleARN }}
    fsGroup: {{ $c.fixers.fsGroup }}
    fsGroupID: {{ int64 $c.fixers.fsGroupID }}
audit:
  enabled: {{ .Values.audit.enabled }}
  {{- if .Values.audit.enabled }}
  interval: {{ .Values.audit.interval }}
  iamShare: {{ .Values.audit.iamShare }}
  leaderElection:
    enabled: true
    namespace: {{ .Release.Namespace | quote }}
    leaseName: {{ printf "%s-audit" (include "irsa-guard.fullname" .) | quote }}
  policyReports: {{ .Values.audit.policyReports }}
  excludeNamespaces:
    {{- range (concat (list "kube-system" "kube-node-lease" "kube-public" .Release.Namespace) .Values.webhook.excludeNamespaces | uniq) }}
    - {{ . | quote }}
    {{- end }}
  {{- end }}
{{- end }}
