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

{{/* irsa-guard.configFile is the server's configuration file, rendered from .Values.config. */}}
{{- define "irsa-guard.configFile" -}}
{{- $c := .Values.config }}
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
{{- with $c.issuer }}
issuer: {{ . | quote }}
{{- end }}
audience: {{ $c.audience | quote }}
fixers:
  composeRoleARN: {{ $c.fixers.composeRoleARN }}
  fsGroup: {{ $c.fixers.fsGroup }}
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
