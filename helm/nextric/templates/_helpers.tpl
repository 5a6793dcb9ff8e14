{{/* Names and labels shared by every template. */}}
{{- define "nextric.name" -}}
{{- printf "%s-%s" .root.Release.Name .component | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "nextric.labels" -}}
app.kubernetes.io/name: {{ .component }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/part-of: nextric
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
{{- end -}}

{{- define "nextric.selector" -}}
app.kubernetes.io/name: {{ .component }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- end -}}

{{- define "nextric.tokenSecret" -}}
{{- if .Values.tokens.existingSecret -}}
{{- .Values.tokens.existingSecret -}}
{{- else -}}
{{- printf "%s-tokens" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "nextric.image" -}}
{{- printf "%s/%s/%s:%s" .root.Values.image.registry .root.Values.image.repository .component .root.Values.image.tag -}}
{{- end -}}

{{- define "nextric.redisSecret" -}}
{{- if .Values.redis.auth.existingSecret -}}
{{- .Values.redis.auth.existingSecret -}}
{{- else -}}
{{- printf "%s-redis" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Whether a component talks to Redis: the SDL (uses.sdl), or the policy service (its store and its SDL). */}}
{{- define "nextric.redisClient" -}}
{{- if or .c.uses.sdl (eq .component "policy") }}true{{ end -}}
{{- end -}}

{{/* The environment a Redis client needs before its URLs: the address (from the endpoints ConfigMap) and the
     password (from the Secret), which the URLs reference as $(NEXTRIC_REDIS_ADDRESS) / $(NEXTRIC_REDIS_PASSWORD). */}}
{{- define "nextric.redisEnv" -}}
{{- if .Values.endpointsConfigMap }}
- name: NEXTRIC_REDIS_ADDRESS
  valueFrom:
    configMapKeyRef:
      name: {{ .Values.endpointsConfigMap }}
      key: redis_address
{{- end }}
{{- if .Values.redis.auth.enabled }}
- name: NEXTRIC_REDIS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "nextric.redisSecret" . }}
      key: {{ .Values.redis.auth.secretKey }}
{{- end }}
{{- end -}}

{{/* A Redis URL of database .db: scheme://[:password@]host:port/db */}}
{{- define "nextric.redisUrl" -}}
{{- $redis := .root.Values.redis -}}
{{- $scheme := regexFind "^rediss?" $redis.url -}}
{{- $address := regexReplaceAll "^rediss?://" $redis.url "" -}}
{{- if .root.Values.endpointsConfigMap }}{{ $address = "$(NEXTRIC_REDIS_ADDRESS)" }}{{ end -}}
{{- $auth := "" -}}
{{- if $redis.auth.enabled }}{{ $auth = ":$(NEXTRIC_REDIS_PASSWORD)@" }}{{ end -}}
{{- printf "%s://%s%s/%v" $scheme $auth $address .db -}}
{{- end -}}

{{- define "nextric.logLevel" -}}
{{- if .Values.endpointsConfigMap }}
valueFrom:
  configMapKeyRef:
    name: {{ .Values.endpointsConfigMap }}
    key: log_level
{{- else }}
value: {{ .Values.logLevel | quote }}
{{- end }}
{{- end -}}

{{- define "nextric.e2TokenSecret" -}}
{{- if .Values.e2Auth.existingSecret -}}
{{- .Values.e2Auth.existingSecret -}}
{{- else -}}
{{- printf "%s-e2-tokens" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Whether a component is a client of the E2 gRPC port (E2, the transport controller or the twin): it then gets a
     token of its own from the E2 token Secret when e2Auth is enabled. */}}
{{- define "nextric.e2Client" -}}
{{- if or .c.uses.e2 .c.uses.transport .c.uses.twin }}true{{ end -}}
{{- end -}}

{{- define "nextric.e2TlsSecret" -}}
{{- if .Values.e2Tls.existingSecret -}}
{{- .Values.e2Tls.existingSecret -}}
{{- else -}}
{{- printf "%s-e2-tls" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
