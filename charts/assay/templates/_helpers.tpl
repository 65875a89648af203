{{/* Names and labels. */}}
{{- define "assay.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
The prefix of every object name: at most 37 characters (a longer one keeps 31 and a hash of
the whole), so that the longest suffix ("-assignment-worker-metrics", 26) keeps names within
63 for any release name (ADR 0083);
dots become dashes and a leading digit gets "a", since Services need DNS-1035 labels.
*/}}
{{- define "assay.fullname" -}}
{{- $full := "" -}}
{{- if .Values.fullnameOverride -}}
{{- $full = .Values.fullnameOverride -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- $full = .Release.Name -}}
{{- else -}}
{{- $full = printf "%s-%s" .Release.Name $name -}}
{{- end -}}
{{- end -}}
{{- $full = $full | lower | replace "." "-" -}}
{{- if regexMatch "^[^a-z]" $full -}}
{{- $full = printf "a%s" $full -}}
{{- end -}}
{{- if gt (len $full) 37 -}}
{{- /* two long release names must not meet in one prefix: keep a hash of the whole */ -}}
{{- printf "%s-%s" ($full | trunc 31 | trimSuffix "-") ($full | sha256sum | trunc 5) -}}
{{- else -}}
{{- $full -}}
{{- end -}}
{{- end -}}

{{- define "assay.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels every object carries. Argument: the root context. */}}
{{- define "assay.labels" -}}
app.kubernetes.io/name: {{ include "assay.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{ include "assay.commonLabels" . }}
{{- end -}}

{{/* The labels that are not selector labels. Argument: the root context. */}}
{{- define "assay.commonLabels" -}}
helm.sh/chart: {{ include "assay.chart" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: assay
{{- end -}}

{{/* Selector labels of one process of one service. Argument: dict root svc proc. */}}
{{- define "assay.selectorLabels" -}}
app.kubernetes.io/name: {{ include "assay.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
assay/service: {{ .svc }}
assay/process: {{ .proc }}
{{- end -}}

{{/* Percent-encode a URL's user or password (urlquery writes spaces as "+"). */}}
{{- define "assay.urlEscape" -}}
{{- urlquery . | replace "+" "%20" -}}
{{- end -}}

{{- define "assay.image" -}}
{{- $repo := required "image.repository is required" .Values.image.repository -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" $repo .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" $repo (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/* The services this install runs, sorted. Output: one name per line. */}}
{{- define "assay.enabledServices" -}}
{{- $known := list "assignment" "scoring" "review" "metrics" "webhooks" -}}
{{- range $svc := keys .Values.services | sortAlpha -}}
{{- if not (has $svc $known) -}}
{{- fail (printf "services.%s: unknown service (known: %s)" $svc (join ", " $known)) -}}
{{- end -}}
{{- if (index $.Values.services $svc).enabled }}
{{ $svc }}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
A service's settings: `defaults` overlaid with `services.<svc>`. Maps are merged key by
key (two levels, and a third for autoscaling/pdb); other values, `resources` included,
replace the default. Written out by hand because sprig's merge ignores false and 0.
Argument: dict root svc. Output: YAML.
*/}}
{{- define "assay.serviceConfig" -}}
{{- $cfg := deepCopy .root.Values.defaults -}}
{{- $over := index .root.Values.services .svc | default dict -}}
{{- range $k, $v := $over -}}
{{- if and (kindIs "map" $v) (kindIs "map" (index $cfg $k)) -}}
{{- $inner := index $cfg $k -}}
{{- range $k2, $v2 := $v -}}
{{- if and (kindIs "map" $v2) (kindIs "map" (index $inner $k2)) (has $k2 (list "autoscaling" "pdb" "keda")) -}}
{{- $leaf := index $inner $k2 -}}
{{- range $k3, $v3 := $v2 }}{{ $_ := set $leaf $k3 $v3 }}{{ end -}}
{{- else -}}
{{- $_ := set $inner $k2 $v2 -}}
{{- end -}}
{{- end -}}
{{- else -}}
{{- $_ := set $cfg $k $v -}}
{{- end -}}
{{- end -}}
{{- toYaml $cfg -}}
{{- end -}}

{{/* The processes a service runs. Argument: the service config. Output: one per line. */}}
{{- define "assay.processes" -}}
web
worker
{{- if .celery.enabled }}
celery
{{- end }}
{{- if .beat.enabled }}
beat
{{- end }}
{{- if .deliver.enabled }}
deliver
{{- end }}
{{- end -}}

{{/* Secret and ConfigMap names. Argument: the root context. */}}
{{- define "assay.runtimeSecretName" -}}
{{- default (printf "%s-runtime" (include "assay.fullname" .)) .Values.shared.existingSecret -}}
{{- end -}}

{{- define "assay.migrationSecretName" -}}
{{- default (printf "%s-migration" (include "assay.fullname" .)) .Values.shared.existingMigrationSecret -}}
{{- end -}}

{{/* The chart's own migration Secret; in hook mode it also carries what hook Jobs need. */}}
{{- define "assay.hookSecretName" -}}
{{- printf "%s-migration" (include "assay.fullname" .) -}}
{{- end -}}

{{- define "assay.jwtConfigMapName" -}}
{{- printf "%s-jwt" (include "assay.fullname" .) -}}
{{- end -}}

{{- define "assay.hookMode" -}}
{{- if eq .Values.migrations.mode "hook" -}}true{{- else if eq .Values.migrations.mode "job" -}}{{- else -}}
{{- fail (printf "migrations.mode: must be hook or job, got %q" .Values.migrations.mode) -}}
{{- end -}}
{{- end -}}

{{/*
The Secret a process reads BROKER_URL, REDIS_URL and DJANGO_SECRET_KEY from. A hook Job
runs before the chart's own Secrets exist, so it reads the hook-time migration Secret,
which then carries these keys too. Argument: dict root job.
*/}}
{{- define "assay.runtimeKeysSecret" -}}
{{- if .root.Values.shared.existingSecret -}}
{{- .root.Values.shared.existingSecret -}}
{{- else if and .job (include "assay.hookMode" .root) -}}
{{- include "assay.hookSecretName" .root -}}
{{- else -}}
{{- include "assay.runtimeSecretName" .root -}}
{{- end -}}
{{- end -}}

{{/* JWT_PUBLIC_KEYS as an env entry. Argument: dict root job. */}}
{{- define "assay.jwtEnv" -}}
{{- $jwt := .root.Values.shared.jwt -}}
- name: JWT_PUBLIC_KEYS
  valueFrom:
{{- if $jwt.existingConfigMap }}
    configMapKeyRef:
      name: {{ $jwt.existingConfigMap }}
      key: {{ $jwt.key }}
{{- else if $jwt.existingSecret }}
    secretKeyRef:
      name: {{ $jwt.existingSecret }}
      key: {{ $jwt.key }}
{{- else if and .job (include "assay.hookMode" .root) }}
    secretKeyRef:
      name: {{ include "assay.hookSecretName" .root }}
      key: JWT_PUBLIC_KEYS
{{- else }}
    configMapKeyRef:
      name: {{ include "assay.jwtConfigMapName" .root }}
      key: JWT_PUBLIC_KEYS
{{- end }}
{{- end -}}

{{/*
The environment of one process. Argument: dict root svc proc cfg [job].
Secrets are referenced, never inlined; plain settings can be overridden by
shared.extraEnv and the service's env (except the variables taken from Secrets).
*/}}
{{- define "assay.env" -}}
{{- $root := .root -}}
{{- $runtimeKeys := include "assay.runtimeKeysSecret" (dict "root" $root "job" .job) -}}
- name: DJANGO_SETTINGS_MODULE
  value: assay_{{ .svc }}.settings
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
{{- if .job }}
      name: {{ include "assay.migrationSecretName" $root }}
      key: {{ upper .svc }}_MIGRATION_DATABASE_URL
{{- else }}
      name: {{ include "assay.runtimeSecretName" $root }}
      key: {{ upper .svc }}_DATABASE_URL
{{- end }}
{{- range $key := list "BROKER_URL" "REDIS_URL" "DJANGO_SECRET_KEY" }}
- name: {{ $key }}
  valueFrom:
    secretKeyRef:
      name: {{ $runtimeKeys }}
      key: {{ $key }}
{{- end }}
{{ include "assay.jwtEnv" (dict "root" $root "job" .job) }}
{{- $plain := dict
  "ASSAY_BUS_PREFIX" $root.Values.shared.busPrefix
  "DB_APP_ROLE" $root.Values.shared.postgres.appRole
  "LOG_LEVEL" $root.Values.shared.logLevel
  "DB_POOL_MAX" (toString $root.Values.shared.dbPoolMax)
  "METRICS_PORT" (ternary (toString .cfg.worker.metricsPort) (ternary (toString .cfg.celery.metricsPort) "0" (eq .proc "celery")) (eq .proc "worker"))
  "WEB_CONCURRENCY" (toString .cfg.web.concurrency)
  "RATE_LIMIT_PER_SECOND" (toString $root.Values.shared.rateLimit.perSecond)
  "RATE_LIMIT_BURST" (toString $root.Values.shared.rateLimit.burst)
  "RATE_LIMIT_TENANTS" (toJson (default dict $root.Values.shared.rateLimit.tenants)) -}}
{{- $plain = merge (deepCopy (default dict .cfg.env)) (deepCopy (default dict $root.Values.shared.extraEnv)) $plain -}}
{{- $plain = omit $plain "DJANGO_SETTINGS_MODULE" "DATABASE_URL" "BROKER_URL" "REDIS_URL" "DJANGO_SECRET_KEY" "JWT_PUBLIC_KEYS" -}}
{{- if $root.Values.tenants.registry.enabled }}
{{- /* per-tenant limits from the shared-mode tenant registry, written by `assay tenant` (ADR 0068) */ -}}
{{- if $root.Values.shared.rateLimit.tenants -}}
{{- fail "shared.rateLimit.tenants: must be empty with tenants.registry.enabled (per-tenant limits then come from the registry)" -}}
{{- end -}}
{{- $plain = omit $plain "RATE_LIMIT_TENANTS" }}
- name: RATE_LIMIT_TENANTS
  valueFrom:
    configMapKeyRef:
      name: {{ include "assay.fullname" $root }}-tenants
      key: RATE_LIMIT_TENANTS
      optional: true
{{- end -}}
{{- if has .proc (list "web" "celery") -}}
{{- $_ := set $plain "PROMETHEUS_MULTIPROC_DIR" "/tmp/prometheus" -}}
{{- end -}}
{{- range $name := keys $plain | sortAlpha }}
- name: {{ $name }}
  value: {{ index $plain $name | toString | quote }}
{{- end }}
{{- end -}}

{{/* Pod-level settings shared by every pod. Argument: the root context. */}}
{{- define "assay.podCommon" -}}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.serviceAccountName }}
serviceAccountName: {{ . }}
{{- end }}
automountServiceAccountToken: false
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
volumes:
  - name: tmp
    emptyDir:
      sizeLimit: {{ .Values.tmpVolume.sizeLimit }}
{{- end -}}

{{- define "assay.tmpMount" -}}
volumeMounts:
  - name: tmp
    mountPath: /tmp
{{- end -}}

{{/*
Plain-manifest mode: wait until this service's migrations are applied before starting.
Argument: dict root svc cfg.
*/}}
{{- define "assay.waitForMigrations" -}}
- name: wait-for-migrations
  image: {{ include "assay.image" .root }}
  imagePullPolicy: {{ .root.Values.image.pullPolicy }}
  command: ["sh", "-c", "until python -m django migrate --check --noinput >/dev/null; do echo 'waiting for migrations'; sleep 5; done"]
  env:
    {{- include "assay.env" (dict "root" .root "svc" .svc "proc" "wait" "cfg" .cfg) | nindent 4 }}
  resources:
    requests: {cpu: 50m, memory: 128Mi}
    limits: {memory: 256Mi}
  securityContext:
    {{- toYaml .root.Values.securityContext | nindent 4 }}
  {{- include "assay.tmpMount" . | nindent 2 }}
{{- end -}}

{{/* A checksum of the chart-managed configuration, so pods roll when it changes. */}}
{{- define "assay.configChecksum" -}}
{{- include (print .Template.BasePath "/config.yaml") . | sha256sum -}}
{{- end -}}

{{/*
The console's Secret (JWT_PRIVATE_KEY, JWT_KEY_ID, DJANGO_SECRET_KEY), or "" when console.existingSecret
names one. The key id must be one the services accept: with chart-managed public keys it is checked here.
Argument: the root context.
*/}}
{{- define "assay.consoleSecret" -}}
{{- $c := .Values.console -}}
{{- if not $c.existingSecret -}}
{{- $kid := required "console.jwtKeyId is required (or name console.existingSecret)" $c.jwtKeyId -}}
{{- $pem := required "console.jwtPrivateKey is required (or name console.existingSecret)" $c.jwtPrivateKey -}}
{{- $djangoKey := required "console.djangoSecretKey is required (or name console.existingSecret)" $c.djangoSecretKey -}}
{{- if not (contains "BEGIN PRIVATE KEY" $pem) -}}
{{- fail "console.jwtPrivateKey: is not a PEM private key (PKCS#8, \"BEGIN PRIVATE KEY\")" -}}
{{- end -}}
{{- $jwt := .Values.shared.jwt -}}
{{- if and (not (or $jwt.existingConfigMap $jwt.existingSecret)) (not (hasKey $jwt.publicKeys $kid)) -}}
{{- fail (printf "console.jwtKeyId: %q is not a key id of shared.jwt.publicKeys, so the services would refuse the console's tokens" $kid) -}}
{{- end -}}
apiVersion: v1
kind: Secret
metadata:
  name: {{ include "assay.fullname" . }}-console
  labels:
    {{- include "assay.labels" . | nindent 4 }}
    assay/service: console
type: Opaque
stringData:
  DJANGO_SECRET_KEY: {{ $djangoKey | quote }}
  JWT_KEY_ID: {{ $kid | quote }}
  JWT_PRIVATE_KEY: {{ $pem | quote }}
{{- end -}}
{{- end -}}
