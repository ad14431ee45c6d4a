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
irsa-guard.configFile is the server's configuration file (package config, keys are Options' JSON
names), rendered from .Values.config. decisionBudget is derived from webhook.timeoutSeconds so that
irsa-guard always answers before the API server gives up: 0.5 s below the timeout, at most 2.5 s.
*/}}
{{- define "irsa-guard.configFile" -}}
{{- $c := .Values.config }}
{{- $budgetMs := min 2500 (sub (mul (int .Values.webhook.timeoutSeconds) 1000) 500) }}
mode: {{ $c.mode }}
{{- with $c.namespaceModes }}
namespaceModes:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $c.checkModes }}
checkModes:
  {{- toYaml . | nindent 2 }}
{{- end }}
failClosed: {{ $c.failClosed }}
decisionBudget: {{ $budgetMs }}ms
shutdownDelay: {{ $c.shutdownDelay }}
{{- with $c.issuer }}
issuer: {{ . | quote }}
{{- end }}
audience: {{ $c.audience | quote }}
{{- with $c.account }}
account: {{ . | quote }}
{{- end }}
{{- with $c.partition }}
partition: {{ . | quote }}
{{- end }}
fixers:
  composeRoleARN: {{ $c.fixers.composeRoleARN }}
  fsGroup: {{ $c.fixers.fsGroup }}
  fsGroupID: {{ int64 $c.fixers.fsGroupID }}
podIdentityWebhookConfiguration: {{ $c.podIdentityWebhook.configuration | quote }}
podIdentityWebhookName: {{ $c.podIdentityWebhook.name | quote }}
cache:
  positiveTTL: {{ $c.cache.positiveTTL }}
  negativeTTL: {{ $c.cache.negativeTTL }}
  staleTTL: {{ $c.cache.staleTTL }}
iam:
  qps: {{ $c.iam.qps }}
  burst: {{ $c.iam.burst }}
{{- with $c.readerRoles }}
readerRoles:
  {{- range $account, $arn := . }}
  {{ $account | quote }}: {{ $arn | quote }}
  {{- end }}
{{- end }}
{{- end }}
