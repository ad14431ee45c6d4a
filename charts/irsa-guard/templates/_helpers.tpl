{{/* irsa-guard.name is the chart name, overridable with nameOverride. */}}
{{- define "irsa-guard.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* irsa-guard.fullname prefixes every resource; it is also the Service name the certificate is issued for. */}}
{{- define "irsa-guard.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "irsa-guard.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "irsa-guard.selectorLabels" -}}
app.kubernetes.io/name: {{ include "irsa-guard.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "irsa-guard.labels" -}}
helm.sh/chart: {{ include "irsa-guard.chart" . }}
{{ include "irsa-guard.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "irsa-guard.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "irsa-guard.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "irsa-guard.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* irsa-guard.tlsSecretName is the Secret the server reads its certificate from, whoever made it. */}}
{{- define "irsa-guard.tlsSecretName" -}}
{{- default (printf "%s-tls" (include "irsa-guard.fullname" .)) .Values.tls.existingSecret }}
{{- end }}

{{/* irsa-guard.mutating reports ("true" or "") whether any fixer needs the MutatingWebhookConfiguration. */}}
{{- define "irsa-guard.mutating" -}}
{{- if or .Values.config.fixers.composeRoleARN .Values.config.fixers.fsGroup }}true{{ end }}
{{- end }}

{{/*
irsa-guard.generatedTLS returns, as JSON, the CA and serving certificate the chart manages when neither
cert-manager nor a user Secret provides one. An existing Secret is reused (lookup) so upgrades keep the
CA the API server already trusts; otherwise a CA and a certificate for the Service's DNS names are
generated. The result is memoised on the root context because the Secret and both webhook
configurations must agree, and genCA returns a new CA on every call.
*/}}
{{- define "irsa-guard.generatedTLS" -}}
{{- if not (hasKey . "irsaGuardGeneratedTLS") }}
{{- $secretName := include "irsa-guard.tlsSecretName" . }}
{{- $existing := lookup "v1" "Secret" .Release.Namespace $secretName }}
{{- $tls := dict }}
{{- if and $existing $existing.data (index $existing.data "ca.crt") (index $existing.data "tls.crt") (index $existing.data "tls.key") }}
{{- $tls = dict "ca" (index $existing.data "ca.crt") "cert" (index $existing.data "tls.crt") "key" (index $existing.data "tls.key") }}
{{- else }}
{{- $svc := include "irsa-guard.fullname" . }}
{{- $ns := .Release.Namespace }}
{{- $days := int .Values.tls.generatedValidityDays }}
{{- $ca := genCA (printf "%s-ca" $svc) $days }}
{{- $dns := list $svc (printf "%s.%s" $svc $ns) (printf "%s.%s.svc" $svc $ns) (printf "%s.%s.svc.cluster.local" $svc $ns) }}
{{- $dns = concat $dns .Values.tls.extraDNSNames }}
{{- $cert := genSignedCert (printf "%s.%s.svc" $svc $ns) .Values.tls.extraIPs $dns $days $ca }}
{{- $tls = dict "ca" ($ca.Cert | b64enc) "cert" ($cert.Cert | b64enc) "key" ($cert.Key | b64enc) }}
{{- end }}
{{- $_ := set . "irsaGuardGeneratedTLS" $tls }}
{{- end }}
{{- get . "irsaGuardGeneratedTLS" | toJson }}
{{- end }}

{{/* irsa-guard.caBundle is the base64 CA for the webhook configurations ("" when cert-manager injects it). */}}
{{- define "irsa-guard.caBundle" -}}
{{- if .Values.certManager.enabled }}
{{- else if .Values.tls.existingSecret }}
{{- required "tls.caBundle is required with tls.existingSecret: set it to the base64-encoded PEM of the CA that signed the Secret's tls.crt, so the API server trusts the webhook" .Values.tls.caBundle }}
{{- else }}
{{- (include "irsa-guard.generatedTLS" . | fromJson).ca }}
{{- end }}
{{- end }}

{{/* irsa-guard.webhookAnnotations asks cert-manager's cainjector to fill in caBundle. */}}
{{- define "irsa-guard.webhookAnnotations" -}}
{{- if .Values.certManager.enabled }}
annotations:
  cert-manager.io/inject-ca-from: {{ printf "%s/%s" .Release.Namespace (include "irsa-guard.fullname" .) }}
{{- end }}
{{- end }}

{{/*
irsa-guard.namespaceSelector keeps the control-plane namespaces, irsa-guard's own namespace (no
self-deadlock when its pods restart) and the user's list away from the webhook, plus namespaces
labelled irsa-guard.io/skip=true.
*/}}
{{- define "irsa-guard.namespaceSelector" -}}
namespaceSelector:
  matchExpressions:
    - key: kubernetes.io/metadata.name
      operator: NotIn
      values:
        {{- range (concat (list "kube-system" "kube-node-lease" "kube-public" .Release.Namespace) .Values.webhook.excludeNamespaces | uniq) }}
        - {{ . | quote }}
        {{- end }}
    - key: irsa-guard.io/skip
      operator: NotIn
      values: ["true"]
    {{- with .Values.webhook.namespaceSelectorExpressions }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
{{- end }}

{{/* irsa-guard.objectSelector honours the per-object opt-out label irsa-guard.io/skip=true. */}}
{{- define "irsa-guard.objectSelector" -}}
objectSelector:
  matchExpressions:
    - key: irsa-guard.io/skip
      operator: NotIn
      values: ["true"]
    {{- with .Values.webhook.objectSelectorExpressions }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
{{- end }}

{{/*
irsa-guard.clientConfig points the API server at the Service (or webhook.url); path is the handler's
path in the binary.
*/}}
{{- define "irsa-guard.clientConfig" -}}
clientConfig:
  {{- if .root.Values.webhook.url }}
  url: {{ printf "%s%s" .root.Values.webhook.url .path | quote }}
  {{- else }}
  service:
    name: {{ include "irsa-guard.fullname" .root }}
    namespace: {{ .root.Release.Namespace }}
    path: {{ .path }}
    port: {{ .root.Values.service.port }}
  {{- end }}
  {{- with include "irsa-guard.caBundle" .root }}
  caBundle: {{ . }}
  {{- end }}
{{- end }}

{{/*
irsa-guard.saMatchConditions sends a ServiceAccount only when it, or the version it replaces, carries an
annotation that is or looks like an EKS one (eks.amazon.com/role-arn is a typo IRSA002 must see), and an
UPDATE only when the annotations changed. oldObject is checked too, so removing an annotation is seen.
*/}}
{{- define "irsa-guard.saMatchConditions" -}}
matchConditions:
  - name: eks-annotations
    expression: >-
      (has(object.metadata.annotations) && object.metadata.annotations.exists(k, k.contains('eks') || k.contains('amazon')))
      || (oldObject != null && has(oldObject.metadata.annotations) && oldObject.metadata.annotations.exists(k, k.contains('eks') || k.contains('amazon')))
  - name: annotations-changed-on-update
    expression: >-
      request.operation != 'UPDATE'
      || !has(object.metadata.annotations) || !has(oldObject.metadata.annotations)
      || object.metadata.annotations != oldObject.metadata.annotations
{{- end }}

{{/* irsa-guard.podMatchConditions skips static (mirror) pods: the kubelet creates them, nobody can fix them at admission. */}}
{{- define "irsa-guard.podMatchConditions" -}}
matchConditions:
  - name: not-mirror-pod
    expression: >-
      !has(object.metadata.annotations) || !('kubernetes.io/config.mirror' in object.metadata.annotations)
{{- end }}
