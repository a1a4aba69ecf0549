{{/*
Chart name, truncated to the 63 characters of a DNS label.
*/}}
{{- define "switchboard.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Full name: fullnameOverride, or the release name (plus the chart name when the
release name does not already contain it).
*/}}
{{- define "switchboard.fullname" -}}
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

{{- define "switchboard.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Image tag: image.tag, else the chart's appVersion.
*/}}
{{- define "switchboard.tag" -}}
{{- .Values.image.tag | default .Chart.AppVersion }}
{{- end }}

{{/*
Full image reference; a digest wins over the tag.
*/}}
{{- define "switchboard.image" -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ include "switchboard.tag" . }}
{{- end -}}
{{- end }}

{{/*
Labels of every resource.
*/}}
{{- define "switchboard.labels" -}}
helm.sh/chart: {{ include "switchboard.chart" . }}
{{ include "switchboard.selectorLabels" . }}
app.kubernetes.io/version: {{ include "switchboard.tag" . | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: switchboard
{{- end }}

{{/*
Selector labels of the release (all components).
*/}}
{{- define "switchboard.selectorLabels" -}}
app.kubernetes.io/name: {{ include "switchboard.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
Selector labels of the server pods (the migration Job's pods are not selected).
*/}}
{{- define "switchboard.serverSelectorLabels" -}}
{{ include "switchboard.selectorLabels" . }}
app.kubernetes.io/component: server
{{- end }}

{{- define "switchboard.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "switchboard.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
Name of the Secret the pods read: existingSecret or the chart's own.
*/}}
{{- define "switchboard.secretName" -}}
{{- default (include "switchboard.fullname" .) .Values.existingSecret }}
{{- end }}

{{/*
Name of the Secret the migration Job reads. On a fresh install the chart's own
Secret does not exist yet when pre-install hooks run, so the Job gets a hook
Secret of its own (created just before it, deleted after it succeeds).
*/}}
{{- define "switchboard.migrationSecretName" -}}
{{- if .Values.existingSecret }}
{{- .Values.existingSecret }}
{{- else }}
{{- include "switchboard.migrationName" . }}
{{- end }}
{{- end }}

{{/*
Name of the migration Job and of its hook ConfigMap and Secret.
*/}}
{{- define "switchboard.migrationName" -}}
{{- printf "%s-migrate" (include "switchboard.fullname" . | trunc 55 | trimSuffix "-") }}
{{- end }}

{{- define "switchboard.isPostgres" -}}
{{- if eq .Values.database.engine "postgres" }}true{{ end }}
{{- end }}

{{/*
Drain time of the server in whole seconds, rounded up.
*/}}
{{- define "switchboard.drainSeconds" -}}
{{- $ms := 10000 }}
{{- if and .Values.config.server (not (kindIs "invalid" .Values.config.server.drain_timeout_ms)) }}
{{- $ms = int .Values.config.server.drain_timeout_ms }}
{{- end }}
{{- div (add $ms 999) 1000 }}
{{- end }}

{{/*
Refuse values that cannot work. Included by the Deployment, so any render checks them.
*/}}
{{- define "switchboard.validate" -}}
{{- $engine := .Values.database.engine }}
{{- if not (has $engine (list "sqlite" "postgres")) }}
{{- fail (printf "database.engine must be \"sqlite\" or \"postgres\", not %q" (toString $engine)) }}
{{- end }}
{{- $url := .Values.secrets.databaseUrl | default "" }}
{{- if eq $engine "sqlite" }}
{{- if gt (int .Values.replicaCount) 1 }}
{{- fail (printf "replicaCount=%d needs PostgreSQL: SQLite works with one replica only. Set database.engine=postgres and secrets.databaseUrl (or existingSecret), or replicaCount=1." (int .Values.replicaCount)) }}
{{- end }}
{{- if and .Values.autoscaling.enabled (gt (int .Values.autoscaling.maxReplicas) 1) }}
{{- fail "autoscaling.maxReplicas > 1 needs PostgreSQL: SQLite works with one replica only. Set database.engine=postgres and secrets.databaseUrl (or existingSecret)." }}
{{- end }}
{{- if and $url (not .Values.existingSecret) }}
{{- fail "secrets.databaseUrl is set but database.engine is \"sqlite\": set database.engine=postgres (the SQLite file is configured by database.sqliteUrl)." }}
{{- end }}
{{- if not (hasPrefix "sqlite:" .Values.database.sqliteUrl) }}
{{- fail "database.sqliteUrl must start with sqlite:" }}
{{- end }}
{{- else }}
{{- if and (not .Values.existingSecret) (not $url) }}
{{- fail "database.engine=postgres needs secrets.databaseUrl (postgres://user:password@host:5432/db) or existingSecret with a database-url key." }}
{{- end }}
{{- if and $url (not (or (hasPrefix "postgres://" $url) (hasPrefix "postgresql://" $url))) }}
{{- fail "secrets.databaseUrl must start with postgres:// or postgresql://" }}
{{- end }}
{{- end }}
{{- if and .Values.grpcClientCaSecret (not .Values.grpcTlsSecret) }}
{{- fail "grpcClientCaSecret (mTLS) needs grpcTlsSecret: client certificates are checked only over TLS." }}
{{- end }}
{{- if not .Values.existingSecret }}
{{- /* The binary's own checks (src/config.rs), made at render time rather than in a crash loop. */}}
{{- range .Values.secrets.authTokens }}
{{- if lt (len (toString .)) 16 }}
{{- fail "secrets.authTokens: each token needs at least 16 characters" }}
{{- end }}
{{- end }}
{{- range .Values.secrets.readOnlyTokens }}
{{- if lt (len (toString .)) 16 }}
{{- fail "secrets.readOnlyTokens: each token needs at least 16 characters" }}
{{- end }}
{{- if has . $.Values.secrets.authTokens }}
{{- fail "secrets.readOnlyTokens: a token is also in secrets.authTokens; give each token one kind" }}
{{- end }}
{{- end }}
{{- range $key := list "opticoWebhookToken" "focalscopeWebhookToken" }}
{{- with index $.Values.secrets $key }}
{{- if not (regexMatch "^[A-Za-z0-9._~-]{16,}$" (toString .)) }}
{{- fail (printf "secrets.%s: at least 16 characters, only letters, digits and - _ . ~ (it is a URL path segment)" $key) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- if and .Values.autoscaling.enabled (gt (int .Values.autoscaling.minReplicas) (int .Values.autoscaling.maxReplicas)) }}
{{- fail "autoscaling.minReplicas must not exceed autoscaling.maxReplicas" }}
{{- end }}
{{- $needed := add (int .Values.lifecycle.preStopSleepSeconds) (include "switchboard.drainSeconds" . | int) }}
{{- if le (int .Values.terminationGracePeriodSeconds) $needed }}
{{- fail (printf "terminationGracePeriodSeconds (%d) must exceed lifecycle.preStopSleepSeconds + config.server.drain_timeout_ms (%d s)" (int .Values.terminationGracePeriodSeconds) $needed) }}
{{- end }}
{{- end }}

{{/*
Render a map as TOML: scalars first, then one [table] per nested map; null
values are left out. Helm reads YAML numbers as floats and toToml would write
30000 as 30000.0, so scalars are written with toJson (30000, "text", true,
["a","b"]), which is valid TOML for these types; the HTML escapes toJson adds
(\u0026 for &, \u003c, \u003e) are turned back into the characters, for reading.
Call with (dict "prefix" "" "table" $map).
*/}}
{{- define "switchboard.toml" -}}
{{- $prefix := .prefix }}
{{- range $key, $value := .table }}
{{- if not (or (kindIs "map" $value) (kindIs "invalid" $value)) }}
{{ $key }} = {{ toJson $value | replace "\\u0026" "&" | replace "\\u003c" "<" | replace "\\u003e" ">" }}
{{- end }}
{{- end }}
{{- range $key, $value := .table }}
{{- if kindIs "map" $value }}
{{- $name := $key }}
{{- if $prefix }}{{ $name = printf "%s.%s" $prefix $key }}{{ end }}
{{- $hasScalars := false }}
{{- range $value }}{{ if not (or (kindIs "map" .) (kindIs "invalid" .)) }}{{ $hasScalars = true }}{{ end }}{{ end }}
{{- if $hasScalars }}

[{{ $name }}]
{{- end }}
{{- include "switchboard.toml" (dict "prefix" $name "table" $value) }}
{{- end }}
{{- end }}
{{- end }}

{{/*
The server's config file: values' `config` plus what the chart decides.
*/}}
{{- define "switchboard.configToml" -}}
{{- $config := deepCopy (.Values.config | default dict) }}
{{- $database := get $config "database" | default dict }}
{{- if not (include "switchboard.isPostgres" .) }}
{{- $_ := set $database "url" .Values.database.sqliteUrl }}
{{- end }}
{{- $_ := set $config "database" $database }}
{{- if .Values.grpcTlsSecret }}
{{- $server := get $config "server" | default dict }}
{{- $tls := merge (get $server "tls" | default dict) (dict "cert_path" "/etc/switchboard/tls/tls.crt" "key_path" "/etc/switchboard/tls/tls.key") }}
{{- if .Values.grpcClientCaSecret }}
{{- $_ := set $tls "client_ca_path" "/etc/switchboard/client-ca/ca.crt" }}
{{- end }}
{{- $_ := set $server "tls" $tls }}
{{- $_ := set $config "server" $server }}
{{- end -}}
# Rendered by the switchboard Helm chart from the `config` values.
# Listen addresses come from the environment (SWITCHBOARD__SERVER__*_ADDR);
# secrets come from the environment too (SWITCHBOARD__* from the Secret).
{{- include "switchboard.toml" (dict "prefix" "" "table" $config) }}
{{- end }}

{{/*
Client tokens, comma-separated: secrets.authTokens; else (unless
allow_unauthenticated) the ones already in the release's Secret; else one
generated token. switchboard refuses to start without a token, so a bare
`helm install` gets one (read it back from the Secret; see NOTES). The result
is remembered for the rest of the render so every template sees the same one.
*/}}
{{- define "switchboard.authTokens" -}}
{{- if .Values.secrets.authTokens }}
{{- join "," .Values.secrets.authTokens }}
{{- else if not (dig "auth" "allow_unauthenticated" false (.Values.config | default dict)) }}
{{- if not (hasKey .Values.secrets "_generatedAuthToken") }}
{{- $token := randAlphaNum 40 }}
{{- $existing := lookup "v1" "Secret" .Release.Namespace (include "switchboard.fullname" .) }}
{{- if and $existing $existing.data }}
{{- with index $existing.data "auth-tokens" }}
{{- $token = b64dec . }}
{{- end }}
{{- end }}
{{- $_ := set .Values.secrets "_generatedAuthToken" $token }}
{{- end }}
{{- index .Values.secrets "_generatedAuthToken" }}
{{- end }}
{{- end }}

{{/*
`data` of the chart's Secret (base64 values), also used by the migration hook
Secret. Only the non-empty settings are stored.
*/}}
{{- define "switchboard.secretData" -}}
{{- $s := .Values.secrets }}
{{- $data := dict }}
{{- if include "switchboard.isPostgres" . }}
{{- $_ := set $data "database-url" ($s.databaseUrl | default "") }}
{{- end }}
{{- $_ := set $data "auth-tokens" (include "switchboard.authTokens" .) }}
{{- $_ := set $data "read-only-tokens" (join "," ($s.readOnlyTokens | default list)) }}
{{- $_ := set $data "optico-webhook-token" $s.opticoWebhookToken }}
{{- $_ := set $data "focalscope-webhook-token" $s.focalscopeWebhookToken }}
{{- $_ := set $data "optico-api-key" $s.opticoApiKey }}
{{- $_ := set $data "optico-data-api-key" $s.opticoDataApiKey }}
{{- $_ := set $data "iadvize-api-key" $s.iadvizeApiKey }}
{{- $_ := set $data "ccai-company-key" $s.ccaiCompanyKey }}
{{- $_ := set $data "ccai-company-secret" $s.ccaiCompanySecret }}
{{- range $key, $value := $data }}
{{- if $value }}
{{ $key }}: {{ toString $value | b64enc | quote }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Environment variables read from a Secret (variable → key). Call with
(dict "root" $ "secretName" NAME).
*/}}
{{- define "switchboard.secretEnv" -}}
{{- $keys := dict
  "SWITCHBOARD__AUTH__TOKENS" "auth-tokens"
  "SWITCHBOARD__AUTH__READ_ONLY_TOKENS" "read-only-tokens"
  "SWITCHBOARD__WEBHOOKS__OPTICO_TOKEN" "optico-webhook-token"
  "SWITCHBOARD__WEBHOOKS__FOCALSCOPE_TOKEN" "focalscope-webhook-token"
  "SWITCHBOARD__VENDORS__OPTICO__API_KEY" "optico-api-key"
  "SWITCHBOARD__VENDORS__OPTICO__DATA_API_KEY" "optico-data-api-key"
  "SWITCHBOARD__VENDORS__IADVIZE__API_KEY" "iadvize-api-key"
  "SWITCHBOARD__VENDORS__CCAI__COMPANY_KEY" "ccai-company-key"
  "SWITCHBOARD__VENDORS__CCAI__COMPANY_SECRET" "ccai-company-secret"
}}
{{- $secretName := .secretName }}
{{- if include "switchboard.isPostgres" .root }}
- name: SWITCHBOARD__DATABASE__URL
  valueFrom:
    secretKeyRef:
      name: {{ $secretName }}
      key: database-url
{{- end }}
{{- range $env, $key := $keys }}
- name: {{ $env }}
  valueFrom:
    secretKeyRef:
      name: {{ $secretName }}
      key: {{ $key }}
      optional: true
{{- end }}
{{- end }}

{{/*
Pod volumes shared by the server pods.
*/}}
{{- define "switchboard.tmpVolume" -}}
- name: tmp
  emptyDir:
    sizeLimit: 64Mi
{{- end }}
