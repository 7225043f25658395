{{/* Labels of every object, as deploy/ writes them. */}}
{{- define "moor.labels" -}}
app.kubernetes.io/name: moor
app.kubernetes.io/component: controller
{{- end }}

{{/* The Secret holding webhook credentials, if any. */}}
{{- define "moor.webhookSecret" -}}
{{- if .Values.webhook.existingSecret -}}
{{ .Values.webhook.existingSecret }}
{{- else if or .Values.webhook.githubSecret .Values.webhook.gitlabToken .Values.webhook.token -}}
moor-webhook
{{- end -}}
{{- end }}
