# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_moor_global_optspecs
    string join \n v/verbose log-format= h/help V/version
end

function __fish_moor_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_moor_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_moor_using_subcommand
    set -l cmd (__fish_moor_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c moor -n "__fish_moor_needs_command" -l log-format -d 'Log format: text or json' -r -f -a "text\t''
json\t''"
complete -c moor -n "__fish_moor_needs_command" -s v -l verbose -d 'More log output (-v info, -vv debug); MOOR_LOG overrides'
complete -c moor -n "__fish_moor_needs_command" -s h -l help -d 'Print help'
complete -c moor -n "__fish_moor_needs_command" -s V -l version -d 'Print version'
complete -c moor -n "__fish_moor_needs_command" -f -a "render" -d 'Print the rendered objects as one YAML stream, in apply order'
complete -c moor -n "__fish_moor_needs_command" -f -a "diff" -d 'Show how the cluster differs from Git. Exit 0: in sync; 1: differences; >1: error'
complete -c moor -n "__fish_moor_needs_command" -f -a "sync" -d 'Make the cluster match Git: validate, dry-run, apply what drifted, prune, wait'
complete -c moor -n "__fish_moor_needs_command" -f -a "app" -d 'Manage Applications, the objects the controller syncs from Git'
complete -c moor -n "__fish_moor_needs_command" -f -a "project" -d 'Manage AppProjects: which repositories, destinations and kinds an Application may use'
complete -c moor -n "__fish_moor_needs_command" -f -a "controller" -d 'Run the Application controller (out of cluster with a kubeconfig, or in cluster)'
complete -c moor -n "__fish_moor_needs_command" -f -a "ui" -d 'Serve the web UI on 127.0.0.1 with your kubeconfig\'s identity (prints its address)'
complete -c moor -n "__fish_moor_needs_command" -f -a "image" -d 'Write new image references into the manifests in Git (the CI deploy step)'
complete -c moor -n "__fish_moor_needs_command" -f -a "promote" -d 'Copy the image references of one path to another (e.g. staging to production), in one commit'
complete -c moor -n "__fish_moor_needs_command" -f -a "install" -d 'Install the controller, its CRDs and RBAC (deploy/) into the cluster, or upgrade them'
complete -c moor -n "__fish_moor_needs_command" -f -a "uninstall" -d 'Remove what `moor install` installed (the CRDs, and so every Application, only with --crds)'
complete -c moor -n "__fish_moor_needs_command" -f -a "version" -d 'Print the client\'s version and the installed controller\'s'
complete -c moor -n "__fish_moor_needs_command" -f -a "completion" -d 'Print a shell completion script: `source <(moor completion bash)`'
complete -c moor -n "__fish_moor_needs_command" -f -a "man" -d 'Write the man pages (moor.1, moor-app.1, ...) into a directory'
complete -c moor -n "__fish_moor_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c moor -n "__fish_moor_using_subcommand render" -l repo -d 'Git repository (https://, ssh://, git@host:path, file://) or a local directory' -r
complete -c moor -n "__fish_moor_using_subcommand render" -l revision -d 'Branch, tag or commit (default: the remote\'s HEAD)' -r
complete -c moor -n "__fish_moor_using_subcommand render" -l path -d 'Directory inside the repository' -r
complete -c moor -n "__fish_moor_using_subcommand render" -l include -d 'Only files matching these globs (plain directories)' -r
complete -c moor -n "__fish_moor_using_subcommand render" -l exclude -d 'Skip files matching these globs (plain directories)' -r
complete -c moor -n "__fish_moor_using_subcommand render" -l helm-release-name -d 'Helm release name (default: the chart directory\'s name)' -r
complete -c moor -n "__fish_moor_using_subcommand render" -l helm-values-file -d 'Helm values files, relative to the chart' -r
complete -c moor -n "__fish_moor_using_subcommand render" -l helm-values -d 'Inline Helm values (YAML)' -r
complete -c moor -n "__fish_moor_using_subcommand render" -l kustomize-bin -r -F
complete -c moor -n "__fish_moor_using_subcommand render" -l helm-bin -r -F
complete -c moor -n "__fish_moor_using_subcommand render" -l jsonnet-ext-var-str -d 'A Jsonnet external variable as a string, NAME=VALUE' -r
complete -c moor -n "__fish_moor_using_subcommand render" -l jsonnet-ext-var-code -d 'A Jsonnet external variable as Jsonnet code, NAME=CODE' -r
complete -c moor -n "__fish_moor_using_subcommand render" -l jsonnet-tla-str -d 'A Jsonnet top-level argument as a string, NAME=VALUE' -r
complete -c moor -n "__fish_moor_using_subcommand render" -l jsonnet-tla-code -d 'A Jsonnet top-level argument as Jsonnet code, NAME=CODE' -r
complete -c moor -n "__fish_moor_using_subcommand render" -l jsonnet-libs -d 'A Jsonnet library directory, relative to the repository root' -r
complete -c moor -n "__fish_moor_using_subcommand render" -l jsonnet-bin -d 'The jsonnet binary (go-jsonnet); `jsonnet` on PATH by default' -r -F
complete -c moor -n "__fish_moor_using_subcommand render" -l git-username -d 'Git username for https (or MOOR_GIT_USERNAME)' -r
complete -c moor -n "__fish_moor_using_subcommand render" -l git-password -d 'Git password or token for https; prefer the env var MOOR_GIT_PASSWORD' -r
complete -c moor -n "__fish_moor_using_subcommand render" -l ssh-key -d 'SSH private key for ssh:// and git@ URLs (or MOOR_GIT_SSH_KEY)' -r -F
complete -c moor -n "__fish_moor_using_subcommand render" -l known-hosts -d 'known_hosts file for SSH (or MOOR_GIT_KNOWN_HOSTS)' -r -F
complete -c moor -n "__fish_moor_using_subcommand render" -l render-timeout -d 'A renderer (kustomize, helm) running longer is killed' -r
complete -c moor -n "__fish_moor_using_subcommand render" -l max-render-bytes -d 'Largest render: manifest files read or renderer output (e.g. 64MiB)' -r
complete -c moor -n "__fish_moor_using_subcommand render" -l max-render-objects -d 'Most objects one source may render' -r
complete -c moor -n "__fish_moor_using_subcommand render" -l substitute -d 'Substitute `${NAME}` in the rendered objects, as an Application\'s `spec.postBuild.substitute` does (Flux\'s syntax); repeatable' -r
complete -c moor -n "__fish_moor_using_subcommand render" -l log-format -d 'Log format: text or json' -r -f -a "text\t''
json\t''"
complete -c moor -n "__fish_moor_using_subcommand render" -l recurse -d 'Read plain directories recursively'
complete -c moor -n "__fish_moor_using_subcommand render" -l allow-empty -d 'Accept a path that renders no objects (with --prune, a sync then deletes everything the app owns). Without it, an empty render is an error listing the files found'
complete -c moor -n "__fish_moor_using_subcommand render" -l allow-remote-value-files -d 'Let Helm fetch http(s):// value files named by the source (off: a repository or an Application could make moor fetch any URL)'
complete -c moor -n "__fish_moor_using_subcommand render" -l allow-remote-bases -d 'Let kustomize fetch remote bases and charts (https://, git::, github.com/...); off by default, as Flux\'s --no-remote-bases'
complete -c moor -n "__fish_moor_using_subcommand render" -s v -l verbose -d 'More log output (-v info, -vv debug); MOOR_LOG overrides'
complete -c moor -n "__fish_moor_using_subcommand render" -s h -l help -d 'Print help'
complete -c moor -n "__fish_moor_using_subcommand diff" -l repo -d 'Git repository (https://, ssh://, git@host:path, file://) or a local directory' -r
complete -c moor -n "__fish_moor_using_subcommand diff" -l revision -d 'Branch, tag or commit (default: the remote\'s HEAD)' -r
complete -c moor -n "__fish_moor_using_subcommand diff" -l path -d 'Directory inside the repository' -r
complete -c moor -n "__fish_moor_using_subcommand diff" -l include -d 'Only files matching these globs (plain directories)' -r
complete -c moor -n "__fish_moor_using_subcommand diff" -l exclude -d 'Skip files matching these globs (plain directories)' -r
complete -c moor -n "__fish_moor_using_subcommand diff" -l helm-release-name -d 'Helm release name (default: the chart directory\'s name)' -r
complete -c moor -n "__fish_moor_using_subcommand diff" -l helm-values-file -d 'Helm values files, relative to the chart' -r
complete -c moor -n "__fish_moor_using_subcommand diff" -l helm-values -d 'Inline Helm values (YAML)' -r
complete -c moor -n "__fish_moor_using_subcommand diff" -l kustomize-bin -r -F
complete -c moor -n "__fish_moor_using_subcommand diff" -l helm-bin -r -F
complete -c moor -n "__fish_moor_using_subcommand diff" -l jsonnet-ext-var-str -d 'A Jsonnet external variable as a string, NAME=VALUE' -r
complete -c moor -n "__fish_moor_using_subcommand diff" -l jsonnet-ext-var-code -d 'A Jsonnet external variable as Jsonnet code, NAME=CODE' -r
complete -c moor -n "__fish_moor_using_subcommand diff" -l jsonnet-tla-str -d 'A Jsonnet top-level argument as a string, NAME=VALUE' -r
complete -c moor -n "__fish_moor_using_subcommand diff" -l jsonnet-tla-code -d 'A Jsonnet top-level argument as Jsonnet code, NAME=CODE' -r
complete -c moor -n "__fish_moor_using_subcommand diff" -l jsonnet-libs -d 'A Jsonnet library directory, relative to the repository root' -r
complete -c moor -n "__fish_moor_using_subcommand diff" -l jsonnet-bin -d 'The jsonnet binary (go-jsonnet); `jsonnet` on PATH by default' -r -F
complete -c moor -n "__fish_moor_using_subcommand diff" -l git-username -d 'Git username for https (or MOOR_GIT_USERNAME)' -r
complete -c moor -n "__fish_moor_using_subcommand diff" -l git-password -d 'Git password or token for https; prefer the env var MOOR_GIT_PASSWORD' -r
complete -c moor -n "__fish_moor_using_subcommand diff" -l ssh-key -d 'SSH private key for ssh:// and git@ URLs (or MOOR_GIT_SSH_KEY)' -r -F
complete -c moor -n "__fish_moor_using_subcommand diff" -l known-hosts -d 'known_hosts file for SSH (or MOOR_GIT_KNOWN_HOSTS)' -r -F
complete -c moor -n "__fish_moor_using_subcommand diff" -l render-timeout -d 'A renderer (kustomize, helm) running longer is killed' -r
complete -c moor -n "__fish_moor_using_subcommand diff" -l max-render-bytes -d 'Largest render: manifest files read or renderer output (e.g. 64MiB)' -r
complete -c moor -n "__fish_moor_using_subcommand diff" -l max-render-objects -d 'Most objects one source may render' -r
complete -c moor -n "__fish_moor_using_subcommand diff" -l kubeconfig -d 'Path to the kubeconfig file (default: KUBECONFIG or ~/.kube/config)' -r -F
complete -c moor -n "__fish_moor_using_subcommand diff" -l context -d 'The kubeconfig context to use' -r
complete -c moor -n "__fish_moor_using_subcommand diff" -l app -d 'The app that owns the synced objects (lowercase letters, digits, \'-\' and \'.\')' -r
complete -c moor -n "__fish_moor_using_subcommand diff" -s n -l namespace -d 'Namespace for namespaced objects that have none (default: the context\'s namespace)' -r
complete -c moor -n "__fish_moor_using_subcommand diff" -l color -d 'Colour the diff: auto (when stdout is a terminal), always or never' -r -f -a "auto\t''
always\t''
never\t''"
complete -c moor -n "__fish_moor_using_subcommand diff" -l log-format -d 'Log format: text or json' -r -f -a "text\t''
json\t''"
complete -c moor -n "__fish_moor_using_subcommand diff" -l recurse -d 'Read plain directories recursively'
complete -c moor -n "__fish_moor_using_subcommand diff" -l allow-empty -d 'Accept a path that renders no objects (with --prune, a sync then deletes everything the app owns). Without it, an empty render is an error listing the files found'
complete -c moor -n "__fish_moor_using_subcommand diff" -l allow-remote-value-files -d 'Let Helm fetch http(s):// value files named by the source (off: a repository or an Application could make moor fetch any URL)'
complete -c moor -n "__fish_moor_using_subcommand diff" -l allow-remote-bases -d 'Let kustomize fetch remote bases and charts (https://, git::, github.com/...); off by default, as Flux\'s --no-remote-bases'
complete -c moor -n "__fish_moor_using_subcommand diff" -l create-namespace -d 'Show the diff as `moor sync --create-namespace` would make it: a missing destination namespace as new, instead of an error'
complete -c moor -n "__fish_moor_using_subcommand diff" -s v -l verbose -d 'More log output (-v info, -vv debug); MOOR_LOG overrides'
complete -c moor -n "__fish_moor_using_subcommand diff" -s h -l help -d 'Print help'
complete -c moor -n "__fish_moor_using_subcommand sync" -l repo -d 'Git repository (https://, ssh://, git@host:path, file://) or a local directory' -r
complete -c moor -n "__fish_moor_using_subcommand sync" -l revision -d 'Branch, tag or commit (default: the remote\'s HEAD)' -r
complete -c moor -n "__fish_moor_using_subcommand sync" -l path -d 'Directory inside the repository' -r
complete -c moor -n "__fish_moor_using_subcommand sync" -l include -d 'Only files matching these globs (plain directories)' -r
complete -c moor -n "__fish_moor_using_subcommand sync" -l exclude -d 'Skip files matching these globs (plain directories)' -r
complete -c moor -n "__fish_moor_using_subcommand sync" -l helm-release-name -d 'Helm release name (default: the chart directory\'s name)' -r
complete -c moor -n "__fish_moor_using_subcommand sync" -l helm-values-file -d 'Helm values files, relative to the chart' -r
complete -c moor -n "__fish_moor_using_subcommand sync" -l helm-values -d 'Inline Helm values (YAML)' -r
complete -c moor -n "__fish_moor_using_subcommand sync" -l kustomize-bin -r -F
complete -c moor -n "__fish_moor_using_subcommand sync" -l helm-bin -r -F
complete -c moor -n "__fish_moor_using_subcommand sync" -l jsonnet-ext-var-str -d 'A Jsonnet external variable as a string, NAME=VALUE' -r
complete -c moor -n "__fish_moor_using_subcommand sync" -l jsonnet-ext-var-code -d 'A Jsonnet external variable as Jsonnet code, NAME=CODE' -r
complete -c moor -n "__fish_moor_using_subcommand sync" -l jsonnet-tla-str -d 'A Jsonnet top-level argument as a string, NAME=VALUE' -r
complete -c moor -n "__fish_moor_using_subcommand sync" -l jsonnet-tla-code -d 'A Jsonnet top-level argument as Jsonnet code, NAME=CODE' -r
complete -c moor -n "__fish_moor_using_subcommand sync" -l jsonnet-libs -d 'A Jsonnet library directory, relative to the repository root' -r
complete -c moor -n "__fish_moor_using_subcommand sync" -l jsonnet-bin -d 'The jsonnet binary (go-jsonnet); `jsonnet` on PATH by default' -r -F
complete -c moor -n "__fish_moor_using_subcommand sync" -l git-username -d 'Git username for https (or MOOR_GIT_USERNAME)' -r
complete -c moor -n "__fish_moor_using_subcommand sync" -l git-password -d 'Git password or token for https; prefer the env var MOOR_GIT_PASSWORD' -r
complete -c moor -n "__fish_moor_using_subcommand sync" -l ssh-key -d 'SSH private key for ssh:// and git@ URLs (or MOOR_GIT_SSH_KEY)' -r -F
complete -c moor -n "__fish_moor_using_subcommand sync" -l known-hosts -d 'known_hosts file for SSH (or MOOR_GIT_KNOWN_HOSTS)' -r -F
complete -c moor -n "__fish_moor_using_subcommand sync" -l render-timeout -d 'A renderer (kustomize, helm) running longer is killed' -r
complete -c moor -n "__fish_moor_using_subcommand sync" -l max-render-bytes -d 'Largest render: manifest files read or renderer output (e.g. 64MiB)' -r
complete -c moor -n "__fish_moor_using_subcommand sync" -l max-render-objects -d 'Most objects one source may render' -r
complete -c moor -n "__fish_moor_using_subcommand sync" -l kubeconfig -d 'Path to the kubeconfig file (default: KUBECONFIG or ~/.kube/config)' -r -F
complete -c moor -n "__fish_moor_using_subcommand sync" -l context -d 'The kubeconfig context to use' -r
complete -c moor -n "__fish_moor_using_subcommand sync" -l app -d 'The app that owns the synced objects (lowercase letters, digits, \'-\' and \'.\')' -r
complete -c moor -n "__fish_moor_using_subcommand sync" -s n -l namespace -d 'Namespace for namespaced objects that have none (default: the context\'s namespace)' -r
complete -c moor -n "__fish_moor_using_subcommand sync" -l timeout -d 'Bound on every wait, e.g. 90s or 5m' -r
complete -c moor -n "__fish_moor_using_subcommand sync" -l concurrency -d 'Requests in flight at once' -r
complete -c moor -n "__fish_moor_using_subcommand sync" -l sync-option -d 'An Argo CD sync option for every object (repeatable): Replace=true or Force=true deletes and recreates an object whose change the API server refuses as immutable; Prune=false, PruneLast=true, PrunePropagationPolicy=orphan, Validate=false, SkipDryRunOnMissingResource=true as in an Application\'s syncOptions. An object\'s `argocd.argoproj.io/sync-options` or `moor.dev/sync-options` annotation overrides it' -r
complete -c moor -n "__fish_moor_using_subcommand sync" -s o -l output -r -f -a "table\t''
json\t''"
complete -c moor -n "__fish_moor_using_subcommand sync" -l log-format -d 'Log format: text or json' -r -f -a "text\t''
json\t''"
complete -c moor -n "__fish_moor_using_subcommand sync" -l recurse -d 'Read plain directories recursively'
complete -c moor -n "__fish_moor_using_subcommand sync" -l allow-empty -d 'Accept a path that renders no objects (with --prune, a sync then deletes everything the app owns). Without it, an empty render is an error listing the files found'
complete -c moor -n "__fish_moor_using_subcommand sync" -l allow-remote-value-files -d 'Let Helm fetch http(s):// value files named by the source (off: a repository or an Application could make moor fetch any URL)'
complete -c moor -n "__fish_moor_using_subcommand sync" -l allow-remote-bases -d 'Let kustomize fetch remote bases and charts (https://, git::, github.com/...); off by default, as Flux\'s --no-remote-bases'
complete -c moor -n "__fish_moor_using_subcommand sync" -l prune -d 'Delete objects this app applied before that are no longer in Git'
complete -c moor -n "__fish_moor_using_subcommand sync" -l dry-run -d 'Validate and dry-run everything, report what would change, write nothing'
complete -c moor -n "__fish_moor_using_subcommand sync" -l create-namespace -d 'Create the destination namespace (--namespace) if it does not exist. It is not owned by the app, so never pruned. Without it, a missing namespace is an error before any write'
complete -c moor -n "__fish_moor_using_subcommand sync" -l wait -d 'Wait until every object is healthy'
complete -c moor -n "__fish_moor_using_subcommand sync" -s v -l verbose -d 'More log output (-v info, -vv debug); MOOR_LOG overrides'
complete -c moor -n "__fish_moor_using_subcommand sync" -s h -l help -d 'Print help'
complete -c moor -n "__fish_moor_using_subcommand app; and not __fish_seen_subcommand_from create list get refresh sync diff history rollback delete suspend resume wait help" -l kubeconfig -d 'Path to the kubeconfig file (default: KUBECONFIG or ~/.kube/config)' -r -F
complete -c moor -n "__fish_moor_using_subcommand app; and not __fish_seen_subcommand_from create list get refresh sync diff history rollback delete suspend resume wait help" -l context -d 'The kubeconfig context to use' -r
complete -c moor -n "__fish_moor_using_subcommand app; and not __fish_seen_subcommand_from create list get refresh sync diff history rollback delete suspend resume wait help" -s n -l namespace -d 'Namespace of the Application (default: the context\'s namespace)' -r
complete -c moor -n "__fish_moor_using_subcommand app; and not __fish_seen_subcommand_from create list get refresh sync diff history rollback delete suspend resume wait help" -l group -d 'API group of the Application resource (argoproj.io when the controller runs with --argocd-compat)' -r -f -a "moor.dev\t''
argoproj.io\t''"
complete -c moor -n "__fish_moor_using_subcommand app; and not __fish_seen_subcommand_from create list get refresh sync diff history rollback delete suspend resume wait help" -l log-format -d 'Log format: text or json' -r -f -a "text\t''
json\t''"
complete -c moor -n "__fish_moor_using_subcommand app; and not __fish_seen_subcommand_from create list get refresh sync diff history rollback delete suspend resume wait help" -s v -l verbose -d 'More log output (-v info, -vv debug); MOOR_LOG overrides'
complete -c moor -n "__fish_moor_using_subcommand app; and not __fish_seen_subcommand_from create list get refresh sync diff history rollback delete suspend resume wait help" -s h -l help -d 'Print help'
complete -c moor -n "__fish_moor_using_subcommand app; and not __fish_seen_subcommand_from create list get refresh sync diff history rollback delete suspend resume wait help" -f -a "create" -d 'Create an Application (or update it with --upsert)'
complete -c moor -n "__fish_moor_using_subcommand app; and not __fish_seen_subcommand_from create list get refresh sync diff history rollback delete suspend resume wait help" -f -a "list" -d 'List the Applications of the namespace'
complete -c moor -n "__fish_moor_using_subcommand app; and not __fish_seen_subcommand_from create list get refresh sync diff history rollback delete suspend resume wait help" -f -a "get" -d 'Show an Application: source, destination, sync, health and its objects'
complete -c moor -n "__fish_moor_using_subcommand app; and not __fish_seen_subcommand_from create list get refresh sync diff history rollback delete suspend resume wait help" -f -a "refresh" -d 'Ask the controller to fetch the source afresh and compare now; then show the Application'
complete -c moor -n "__fish_moor_using_subcommand app; and not __fish_seen_subcommand_from create list get refresh sync diff history rollback delete suspend resume wait help" -f -a "sync" -d 'Ask the controller to sync an Application now'
complete -c moor -n "__fish_moor_using_subcommand app; and not __fish_seen_subcommand_from create list get refresh sync diff history rollback delete suspend resume wait help" -f -a "diff" -d 'Show how the cluster differs from the Application\'s source (rendered locally). Exit 0: in sync; 1: differences; >1: error'
complete -c moor -n "__fish_moor_using_subcommand app; and not __fish_seen_subcommand_from create list get refresh sync diff history rollback delete suspend resume wait help" -f -a "history" -d 'List the revisions an Application was synced to'
complete -c moor -n "__fish_moor_using_subcommand app; and not __fish_seen_subcommand_from create list get refresh sync diff history rollback delete suspend resume wait help" -f -a "rollback" -d 'Sync an Application back to a revision of its history (turns auto-sync off)'
complete -c moor -n "__fish_moor_using_subcommand app; and not __fish_seen_subcommand_from create list get refresh sync diff history rollback delete suspend resume wait help" -f -a "delete" -d 'Delete an Application and, unless --cascade=false, the objects it manages'
complete -c moor -n "__fish_moor_using_subcommand app; and not __fish_seen_subcommand_from create list get refresh sync diff history rollback delete suspend resume wait help" -f -a "suspend" -d 'Stop reconciling an Application (spec.suspend): no fetch, sync or self-heal'
complete -c moor -n "__fish_moor_using_subcommand app; and not __fish_seen_subcommand_from create list get refresh sync diff history rollback delete suspend resume wait help" -f -a "resume" -d 'Reconcile a suspended Application again, at once'
complete -c moor -n "__fish_moor_using_subcommand app; and not __fish_seen_subcommand_from create list get refresh sync diff history rollback delete suspend resume wait help" -f -a "wait" -d 'Wait until an Application is Synced and Healthy (both unless --sync or --health). Exit 0: reached; 1: timed out; 2: a sync failed while waiting for --sync'
complete -c moor -n "__fish_moor_using_subcommand app; and not __fish_seen_subcommand_from create list get refresh sync diff history rollback delete suspend resume wait help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from create" -l repo -d 'Git repository URL; with --chart a Helm repository (https://) or OCI registry (oci://host/path)' -r
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from create" -l revision -d 'Branch, tag or commit (default: the remote\'s HEAD); with --chart the chart version or a semver constraint (e.g. ^1.2)' -r
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from create" -l path -d 'Directory inside the repository' -r
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from create" -l chart -d 'A chart of the Helm repository or OCI registry --repo (instead of a Git path)' -r
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from create" -l source -d 'One of several sources (Argo CD\'s spec.sources), repeatable: repo=URL,path=P,revision=R,chart=C,ref=NAME,name=N,values=FILE (values repeatable; a value file $NAME/path is read from the source with ref=NAME), e.g. `--source repo=URL,path=chart,values=$values/prod.yaml --source repo=URL2,ref=values`' -r
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from create" -s f -l file -d 'A YAML file of sources (Argo CD\'s spec.sources): a list, or a mapping with sources or spec.sources (an Application manifest)' -r -F
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from create" -l dest-server -d 'API server URL of the destination cluster [default: https://kubernetes.default.svc]' -r
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from create" -l dest-name -d 'Name of the destination cluster (instead of --dest-server)' -r
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from create" -l dest-namespace -d 'Namespace for the app\'s namespaced objects that have none' -r
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from create" -l project -d 'The AppProject whose rules the app is admitted by (see `moor project`) [default: default]' -r
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from create" -l sync-option -d 'A sync option, e.g. CreateNamespace=true (repeatable)' -r
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from create" -l depends-on -d 'An Application (NAME or NAMESPACE/NAME) that must be synced and healthy first (repeatable)' -r
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from create" -l kubeconfig -d 'Path to the kubeconfig file (default: KUBECONFIG or ~/.kube/config)' -r -F
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from create" -l context -d 'The kubeconfig context to use' -r
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from create" -s n -l namespace -d 'Namespace of the Application (default: the context\'s namespace)' -r
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from create" -l group -d 'API group of the Application resource (argoproj.io when the controller runs with --argocd-compat)' -r -f -a "moor.dev\t''
argoproj.io\t''"
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from create" -l log-format -d 'Log format: text or json' -r -f -a "text\t''
json\t''"
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from create" -l auto-sync -d 'Sync automatically whenever Git or the cluster changes'
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from create" -l prune -d 'With --auto-sync: delete objects that left Git'
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from create" -l self-heal -d 'With --auto-sync: revert changes made in the cluster'
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from create" -l allow-empty -d 'With --auto-sync: allow a sync that leaves the app with no objects (off by default)'
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from create" -l upsert -d 'Update the Application if it exists (server-side apply), instead of failing'
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from create" -s v -l verbose -d 'More log output (-v info, -vv debug); MOOR_LOG overrides'
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from create" -s h -l help -d 'Print help'
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from list" -s o -l output -r -f -a "table\t'Columns for a terminal'
wide\t'The table with more columns (sources, destinations in full)'
json\t'The objects as JSON'
yaml\t'The objects as YAML'"
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from list" -l kubeconfig -d 'Path to the kubeconfig file (default: KUBECONFIG or ~/.kube/config)' -r -F
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from list" -l context -d 'The kubeconfig context to use' -r
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from list" -s n -l namespace -d 'Namespace of the Application (default: the context\'s namespace)' -r
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from list" -l group -d 'API group of the Application resource (argoproj.io when the controller runs with --argocd-compat)' -r -f -a "moor.dev\t''
argoproj.io\t''"
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from list" -l log-format -d 'Log format: text or json' -r -f -a "text\t''
json\t''"
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from list" -s v -l verbose -d 'More log output (-v info, -vv debug); MOOR_LOG overrides'
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from get" -s o -l output -r -f -a "table\t'Columns for a terminal'
wide\t'The table with more columns (sources, destinations in full)'
json\t'The objects as JSON'
yaml\t'The objects as YAML'"
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from get" -l kubeconfig -d 'Path to the kubeconfig file (default: KUBECONFIG or ~/.kube/config)' -r -F
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from get" -l context -d 'The kubeconfig context to use' -r
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from get" -s n -l namespace -d 'Namespace of the Application (default: the context\'s namespace)' -r
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from get" -l group -d 'API group of the Application resource (argoproj.io when the controller runs with --argocd-compat)' -r -f -a "moor.dev\t''
argoproj.io\t''"
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from get" -l log-format -d 'Log format: text or json' -r -f -a "text\t''
json\t''"
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from get" -l refresh -d 'Ask the controller to fetch the source afresh and compare first (as `moor app refresh`)'
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from get" -s v -l verbose -d 'More log output (-v info, -vv debug); MOOR_LOG overrides'
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from get" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from refresh" -l timeout -d 'How long to wait for the controller to refresh, e.g. 30s or 2m' -r
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from refresh" -s o -l output -r -f -a "table\t'Columns for a terminal'
wide\t'The table with more columns (sources, destinations in full)'
json\t'The objects as JSON'
yaml\t'The objects as YAML'"
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from refresh" -l kubeconfig -d 'Path to the kubeconfig file (default: KUBECONFIG or ~/.kube/config)' -r -F
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from refresh" -l context -d 'The kubeconfig context to use' -r
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from refresh" -s n -l namespace -d 'Namespace of the Application (default: the context\'s namespace)' -r
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from refresh" -l group -d 'API group of the Application resource (argoproj.io when the controller runs with --argocd-compat)' -r -f -a "moor.dev\t''
argoproj.io\t''"
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from refresh" -l log-format -d 'Log format: text or json' -r -f -a "text\t''
json\t''"
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from refresh" -s v -l verbose -d 'More log output (-v info, -vv debug); MOOR_LOG overrides'
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from refresh" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from sync" -l revision -d 'Commit, branch or tag to sync (default: the app\'s target revision)' -r
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from sync" -l timeout -d 'Bound on --wait, e.g. 90s or 5m' -r
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from sync" -l kubeconfig -d 'Path to the kubeconfig file (default: KUBECONFIG or ~/.kube/config)' -r -F
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from sync" -l context -d 'The kubeconfig context to use' -r
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from sync" -s n -l namespace -d 'Namespace of the Application (default: the context\'s namespace)' -r
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from sync" -l group -d 'API group of the Application resource (argoproj.io when the controller runs with --argocd-compat)' -r -f -a "moor.dev\t''
argoproj.io\t''"
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from sync" -l log-format -d 'Log format: text or json' -r -f -a "text\t''
json\t''"
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from sync" -l prune -d 'Delete objects this app applied before that are no longer in Git'
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from sync" -l wait -d 'Wait until the controller has run the operation; exit 2 if it fails'
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from sync" -s v -l verbose -d 'More log output (-v info, -vv debug); MOOR_LOG overrides'
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from sync" -s h -l help -d 'Print help'
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from diff" -l dest-kubeconfig -d 'Kubeconfig of the destination cluster, when it is not the cluster the app lives in' -r -F
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from diff" -l dest-context -d 'Context in --dest-kubeconfig' -r
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from diff" -l color -d 'Colour the diff: auto (when stdout is a terminal), always or never' -r -f -a "auto\t''
always\t''
never\t''"
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from diff" -l kustomize-bin -r -F
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from diff" -l helm-bin -r -F
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from diff" -l kubeconfig -d 'Path to the kubeconfig file (default: KUBECONFIG or ~/.kube/config)' -r -F
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from diff" -l context -d 'The kubeconfig context to use' -r
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from diff" -s n -l namespace -d 'Namespace of the Application (default: the context\'s namespace)' -r
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from diff" -l group -d 'API group of the Application resource (argoproj.io when the controller runs with --argocd-compat)' -r -f -a "moor.dev\t''
argoproj.io\t''"
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from diff" -l log-format -d 'Log format: text or json' -r -f -a "text\t''
json\t''"
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from diff" -s v -l verbose -d 'More log output (-v info, -vv debug); MOOR_LOG overrides'
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from diff" -s h -l help -d 'Print help'
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from history" -s o -l output -d 'wide adds the source of each revision; json and yaml print the history entries' -r -f -a "table\t'Columns for a terminal'
wide\t'The table with more columns (sources, destinations in full)'
json\t'The objects as JSON'
yaml\t'The objects as YAML'"
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from history" -l kubeconfig -d 'Path to the kubeconfig file (default: KUBECONFIG or ~/.kube/config)' -r -F
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from history" -l context -d 'The kubeconfig context to use' -r
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from history" -s n -l namespace -d 'Namespace of the Application (default: the context\'s namespace)' -r
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from history" -l group -d 'API group of the Application resource (argoproj.io when the controller runs with --argocd-compat)' -r -f -a "moor.dev\t''
argoproj.io\t''"
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from history" -l log-format -d 'Log format: text or json' -r -f -a "text\t''
json\t''"
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from history" -s v -l verbose -d 'More log output (-v info, -vv debug); MOOR_LOG overrides'
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from history" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from rollback" -l timeout -d 'Bound on --wait, e.g. 90s or 5m' -r
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from rollback" -l kubeconfig -d 'Path to the kubeconfig file (default: KUBECONFIG or ~/.kube/config)' -r -F
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from rollback" -l context -d 'The kubeconfig context to use' -r
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from rollback" -s n -l namespace -d 'Namespace of the Application (default: the context\'s namespace)' -r
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from rollback" -l group -d 'API group of the Application resource (argoproj.io when the controller runs with --argocd-compat)' -r -f -a "moor.dev\t''
argoproj.io\t''"
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from rollback" -l log-format -d 'Log format: text or json' -r -f -a "text\t''
json\t''"
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from rollback" -l prune -d 'Delete objects that are not in that revision'
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from rollback" -l wait -d 'Wait until the controller has run the operation; exit 2 if it fails'
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from rollback" -s v -l verbose -d 'More log output (-v info, -vv debug); MOOR_LOG overrides'
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from rollback" -s h -l help -d 'Print help'
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from delete" -l cascade -d 'Delete the app\'s objects too (true), or leave them in the cluster (false)' -r -f -a "true\t''
false\t''"
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from delete" -l timeout -d 'Bound on --wait, e.g. 90s or 5m' -r
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from delete" -l kubeconfig -d 'Path to the kubeconfig file (default: KUBECONFIG or ~/.kube/config)' -r -F
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from delete" -l context -d 'The kubeconfig context to use' -r
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from delete" -s n -l namespace -d 'Namespace of the Application (default: the context\'s namespace)' -r
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from delete" -l group -d 'API group of the Application resource (argoproj.io when the controller runs with --argocd-compat)' -r -f -a "moor.dev\t''
argoproj.io\t''"
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from delete" -l log-format -d 'Log format: text or json' -r -f -a "text\t''
json\t''"
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from delete" -l wait -d 'Wait until the Application is gone (after its objects, with --cascade)'
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from delete" -s v -l verbose -d 'More log output (-v info, -vv debug); MOOR_LOG overrides'
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from delete" -s h -l help -d 'Print help'
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from suspend" -l kubeconfig -d 'Path to the kubeconfig file (default: KUBECONFIG or ~/.kube/config)' -r -F
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from suspend" -l context -d 'The kubeconfig context to use' -r
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from suspend" -s n -l namespace -d 'Namespace of the Application (default: the context\'s namespace)' -r
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from suspend" -l group -d 'API group of the Application resource (argoproj.io when the controller runs with --argocd-compat)' -r -f -a "moor.dev\t''
argoproj.io\t''"
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from suspend" -l log-format -d 'Log format: text or json' -r -f -a "text\t''
json\t''"
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from suspend" -s v -l verbose -d 'More log output (-v info, -vv debug); MOOR_LOG overrides'
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from suspend" -s h -l help -d 'Print help'
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from resume" -l kubeconfig -d 'Path to the kubeconfig file (default: KUBECONFIG or ~/.kube/config)' -r -F
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from resume" -l context -d 'The kubeconfig context to use' -r
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from resume" -s n -l namespace -d 'Namespace of the Application (default: the context\'s namespace)' -r
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from resume" -l group -d 'API group of the Application resource (argoproj.io when the controller runs with --argocd-compat)' -r -f -a "moor.dev\t''
argoproj.io\t''"
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from resume" -l log-format -d 'Log format: text or json' -r -f -a "text\t''
json\t''"
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from resume" -s v -l verbose -d 'More log output (-v info, -vv debug); MOOR_LOG overrides'
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from resume" -s h -l help -d 'Print help'
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from wait" -l revision -d 'And until it was compared at a commit starting with this (a full or short SHA)' -r
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from wait" -l timeout -d 'How long to wait, e.g. 90s or 5m' -r
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from wait" -l kubeconfig -d 'Path to the kubeconfig file (default: KUBECONFIG or ~/.kube/config)' -r -F
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from wait" -l context -d 'The kubeconfig context to use' -r
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from wait" -s n -l namespace -d 'Namespace of the Application (default: the context\'s namespace)' -r
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from wait" -l group -d 'API group of the Application resource (argoproj.io when the controller runs with --argocd-compat)' -r -f -a "moor.dev\t''
argoproj.io\t''"
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from wait" -l log-format -d 'Log format: text or json' -r -f -a "text\t''
json\t''"
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from wait" -l sync -d 'Wait until the app is Synced'
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from wait" -l health -d 'Wait until the app is Healthy'
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from wait" -s v -l verbose -d 'More log output (-v info, -vv debug); MOOR_LOG overrides'
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from wait" -s h -l help -d 'Print help'
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from help" -f -a "create" -d 'Create an Application (or update it with --upsert)'
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from help" -f -a "list" -d 'List the Applications of the namespace'
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from help" -f -a "get" -d 'Show an Application: source, destination, sync, health and its objects'
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from help" -f -a "refresh" -d 'Ask the controller to fetch the source afresh and compare now; then show the Application'
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from help" -f -a "sync" -d 'Ask the controller to sync an Application now'
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from help" -f -a "diff" -d 'Show how the cluster differs from the Application\'s source (rendered locally). Exit 0: in sync; 1: differences; >1: error'
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from help" -f -a "history" -d 'List the revisions an Application was synced to'
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from help" -f -a "rollback" -d 'Sync an Application back to a revision of its history (turns auto-sync off)'
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from help" -f -a "delete" -d 'Delete an Application and, unless --cascade=false, the objects it manages'
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from help" -f -a "suspend" -d 'Stop reconciling an Application (spec.suspend): no fetch, sync or self-heal'
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from help" -f -a "resume" -d 'Reconcile a suspended Application again, at once'
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from help" -f -a "wait" -d 'Wait until an Application is Synced and Healthy (both unless --sync or --health). Exit 0: reached; 1: timed out; 2: a sync failed while waiting for --sync'
complete -c moor -n "__fish_moor_using_subcommand app; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c moor -n "__fish_moor_using_subcommand project; and not __fish_seen_subcommand_from create list get delete help" -l kubeconfig -d 'Path to the kubeconfig file (default: KUBECONFIG or ~/.kube/config)' -r -F
complete -c moor -n "__fish_moor_using_subcommand project; and not __fish_seen_subcommand_from create list get delete help" -l context -d 'The kubeconfig context to use' -r
complete -c moor -n "__fish_moor_using_subcommand project; and not __fish_seen_subcommand_from create list get delete help" -s n -l namespace -d 'Namespace of the projects: the controller\'s (its --namespace), where it reads them' -r
complete -c moor -n "__fish_moor_using_subcommand project; and not __fish_seen_subcommand_from create list get delete help" -l group -d 'API group of the AppProject resource (argoproj.io for the projects of Argo CD Applications, read by a controller running with --argocd-compat)' -r -f -a "moor.dev\t''
argoproj.io\t''"
complete -c moor -n "__fish_moor_using_subcommand project; and not __fish_seen_subcommand_from create list get delete help" -l log-format -d 'Log format: text or json' -r -f -a "text\t''
json\t''"
complete -c moor -n "__fish_moor_using_subcommand project; and not __fish_seen_subcommand_from create list get delete help" -s v -l verbose -d 'More log output (-v info, -vv debug); MOOR_LOG overrides'
complete -c moor -n "__fish_moor_using_subcommand project; and not __fish_seen_subcommand_from create list get delete help" -s h -l help -d 'Print help'
complete -c moor -n "__fish_moor_using_subcommand project; and not __fish_seen_subcommand_from create list get delete help" -f -a "create" -d 'Create an AppProject (or replace its rules with --upsert)'
complete -c moor -n "__fish_moor_using_subcommand project; and not __fish_seen_subcommand_from create list get delete help" -f -a "list" -d 'List the AppProjects of the namespace'
complete -c moor -n "__fish_moor_using_subcommand project; and not __fish_seen_subcommand_from create list get delete help" -f -a "get" -d 'Show an AppProject\'s rules'
complete -c moor -n "__fish_moor_using_subcommand project; and not __fish_seen_subcommand_from create list get delete help" -f -a "delete" -d 'Delete an AppProject (its Applications are then refused until it exists again)'
complete -c moor -n "__fish_moor_using_subcommand project; and not __fish_seen_subcommand_from create list get delete help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c moor -n "__fish_moor_using_subcommand project; and __fish_seen_subcommand_from create" -l description -d 'What the project is for' -r
complete -c moor -n "__fish_moor_using_subcommand project; and __fish_seen_subcommand_from create" -s s -l source-repo -l src -d 'A repository URL the project\'s apps may read (repeatable; globs, a leading ! denies)' -r
complete -c moor -n "__fish_moor_using_subcommand project; and __fish_seen_subcommand_from create" -s d -l dest -d 'A destination its apps may write to, SERVER_OR_NAME,NAMESPACE (repeatable; globs, a leading ! denies): a URL is a cluster\'s API server, anything else a cluster name, e.g. `-d https://kubernetes.default.svc,team-a-*` or `-d in-cluster,team-a`' -r
complete -c moor -n "__fish_moor_using_subcommand project; and __fish_seen_subcommand_from create" -l allow-cluster-resource -d 'A cluster-scoped kind its apps may manage, GROUP/KIND (repeatable; KIND alone for the core group, */* for all). None when not given, as in Argo CD' -r
complete -c moor -n "__fish_moor_using_subcommand project; and __fish_seen_subcommand_from create" -l deny-cluster-resource -d 'A cluster-scoped kind its apps may never manage, GROUP/KIND (repeatable)' -r
complete -c moor -n "__fish_moor_using_subcommand project; and __fish_seen_subcommand_from create" -l allow-namespaced-resource -d 'A namespaced kind its apps may manage, GROUP/KIND (repeatable). All when not given' -r
complete -c moor -n "__fish_moor_using_subcommand project; and __fish_seen_subcommand_from create" -l deny-namespaced-resource -d 'A namespaced kind its apps may never manage, GROUP/KIND (repeatable)' -r
complete -c moor -n "__fish_moor_using_subcommand project; and __fish_seen_subcommand_from create" -l source-namespace -d 'A namespace besides the controller\'s where its Applications may live (repeatable; globs)' -r
complete -c moor -n "__fish_moor_using_subcommand project; and __fish_seen_subcommand_from create" -l dest-service-account -d 'The service account writes to matching destinations are made as, SERVER,NAMESPACE,SERVICE_ACCOUNT (repeatable; the first match wins; the account is in the destination namespace, or written NAMESPACE:NAME)' -r
complete -c moor -n "__fish_moor_using_subcommand project; and __fish_seen_subcommand_from create" -l kubeconfig -d 'Path to the kubeconfig file (default: KUBECONFIG or ~/.kube/config)' -r -F
complete -c moor -n "__fish_moor_using_subcommand project; and __fish_seen_subcommand_from create" -l context -d 'The kubeconfig context to use' -r
complete -c moor -n "__fish_moor_using_subcommand project; and __fish_seen_subcommand_from create" -s n -l namespace -d 'Namespace of the projects: the controller\'s (its --namespace), where it reads them' -r
complete -c moor -n "__fish_moor_using_subcommand project; and __fish_seen_subcommand_from create" -l group -d 'API group of the AppProject resource (argoproj.io for the projects of Argo CD Applications, read by a controller running with --argocd-compat)' -r -f -a "moor.dev\t''
argoproj.io\t''"
complete -c moor -n "__fish_moor_using_subcommand project; and __fish_seen_subcommand_from create" -l log-format -d 'Log format: text or json' -r -f -a "text\t''
json\t''"
complete -c moor -n "__fish_moor_using_subcommand project; and __fish_seen_subcommand_from create" -l upsert -d 'Replace the rules of the project if it exists (server-side apply), instead of failing'
complete -c moor -n "__fish_moor_using_subcommand project; and __fish_seen_subcommand_from create" -s v -l verbose -d 'More log output (-v info, -vv debug); MOOR_LOG overrides'
complete -c moor -n "__fish_moor_using_subcommand project; and __fish_seen_subcommand_from create" -s h -l help -d 'Print help'
complete -c moor -n "__fish_moor_using_subcommand project; and __fish_seen_subcommand_from list" -s o -l output -r -f -a "table\t'Columns for a terminal'
wide\t'The table with more columns (sources, destinations in full)'
json\t'The objects as JSON'
yaml\t'The objects as YAML'"
complete -c moor -n "__fish_moor_using_subcommand project; and __fish_seen_subcommand_from list" -l kubeconfig -d 'Path to the kubeconfig file (default: KUBECONFIG or ~/.kube/config)' -r -F
complete -c moor -n "__fish_moor_using_subcommand project; and __fish_seen_subcommand_from list" -l context -d 'The kubeconfig context to use' -r
complete -c moor -n "__fish_moor_using_subcommand project; and __fish_seen_subcommand_from list" -s n -l namespace -d 'Namespace of the projects: the controller\'s (its --namespace), where it reads them' -r
complete -c moor -n "__fish_moor_using_subcommand project; and __fish_seen_subcommand_from list" -l group -d 'API group of the AppProject resource (argoproj.io for the projects of Argo CD Applications, read by a controller running with --argocd-compat)' -r -f -a "moor.dev\t''
argoproj.io\t''"
complete -c moor -n "__fish_moor_using_subcommand project; and __fish_seen_subcommand_from list" -l log-format -d 'Log format: text or json' -r -f -a "text\t''
json\t''"
complete -c moor -n "__fish_moor_using_subcommand project; and __fish_seen_subcommand_from list" -s v -l verbose -d 'More log output (-v info, -vv debug); MOOR_LOG overrides'
complete -c moor -n "__fish_moor_using_subcommand project; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c moor -n "__fish_moor_using_subcommand project; and __fish_seen_subcommand_from get" -s o -l output -r -f -a "table\t'Columns for a terminal'
wide\t'The table with more columns (sources, destinations in full)'
json\t'The objects as JSON'
yaml\t'The objects as YAML'"
complete -c moor -n "__fish_moor_using_subcommand project; and __fish_seen_subcommand_from get" -l kubeconfig -d 'Path to the kubeconfig file (default: KUBECONFIG or ~/.kube/config)' -r -F
complete -c moor -n "__fish_moor_using_subcommand project; and __fish_seen_subcommand_from get" -l context -d 'The kubeconfig context to use' -r
complete -c moor -n "__fish_moor_using_subcommand project; and __fish_seen_subcommand_from get" -s n -l namespace -d 'Namespace of the projects: the controller\'s (its --namespace), where it reads them' -r
complete -c moor -n "__fish_moor_using_subcommand project; and __fish_seen_subcommand_from get" -l group -d 'API group of the AppProject resource (argoproj.io for the projects of Argo CD Applications, read by a controller running with --argocd-compat)' -r -f -a "moor.dev\t''
argoproj.io\t''"
complete -c moor -n "__fish_moor_using_subcommand project; and __fish_seen_subcommand_from get" -l log-format -d 'Log format: text or json' -r -f -a "text\t''
json\t''"
complete -c moor -n "__fish_moor_using_subcommand project; and __fish_seen_subcommand_from get" -s v -l verbose -d 'More log output (-v info, -vv debug); MOOR_LOG overrides'
complete -c moor -n "__fish_moor_using_subcommand project; and __fish_seen_subcommand_from get" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c moor -n "__fish_moor_using_subcommand project; and __fish_seen_subcommand_from delete" -l kubeconfig -d 'Path to the kubeconfig file (default: KUBECONFIG or ~/.kube/config)' -r -F
complete -c moor -n "__fish_moor_using_subcommand project; and __fish_seen_subcommand_from delete" -l context -d 'The kubeconfig context to use' -r
complete -c moor -n "__fish_moor_using_subcommand project; and __fish_seen_subcommand_from delete" -s n -l namespace -d 'Namespace of the projects: the controller\'s (its --namespace), where it reads them' -r
complete -c moor -n "__fish_moor_using_subcommand project; and __fish_seen_subcommand_from delete" -l group -d 'API group of the AppProject resource (argoproj.io for the projects of Argo CD Applications, read by a controller running with --argocd-compat)' -r -f -a "moor.dev\t''
argoproj.io\t''"
complete -c moor -n "__fish_moor_using_subcommand project; and __fish_seen_subcommand_from delete" -l log-format -d 'Log format: text or json' -r -f -a "text\t''
json\t''"
complete -c moor -n "__fish_moor_using_subcommand project; and __fish_seen_subcommand_from delete" -s v -l verbose -d 'More log output (-v info, -vv debug); MOOR_LOG overrides'
complete -c moor -n "__fish_moor_using_subcommand project; and __fish_seen_subcommand_from delete" -s h -l help -d 'Print help'
complete -c moor -n "__fish_moor_using_subcommand project; and __fish_seen_subcommand_from help" -f -a "create" -d 'Create an AppProject (or replace its rules with --upsert)'
complete -c moor -n "__fish_moor_using_subcommand project; and __fish_seen_subcommand_from help" -f -a "list" -d 'List the AppProjects of the namespace'
complete -c moor -n "__fish_moor_using_subcommand project; and __fish_seen_subcommand_from help" -f -a "get" -d 'Show an AppProject\'s rules'
complete -c moor -n "__fish_moor_using_subcommand project; and __fish_seen_subcommand_from help" -f -a "delete" -d 'Delete an AppProject (its Applications are then refused until it exists again)'
complete -c moor -n "__fish_moor_using_subcommand project; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c moor -n "__fish_moor_using_subcommand controller" -l kubeconfig -d 'Path to the kubeconfig file (default: KUBECONFIG, ~/.kube/config, or in-cluster)' -r -F
complete -c moor -n "__fish_moor_using_subcommand controller" -l context -r
complete -c moor -n "__fish_moor_using_subcommand controller" -l namespace -d 'Namespace of cluster and repository Secrets' -r
complete -c moor -n "__fish_moor_using_subcommand controller" -l app-namespace -d 'Only reconcile Applications in this namespace (default: all namespaces)' -r
complete -c moor -n "__fish_moor_using_subcommand controller" -l poll-interval -d 'How often each app is compared with Git without any other trigger (per-app: spec.pollInterval)' -r
complete -c moor -n "__fish_moor_using_subcommand controller" -l min-poll-interval -d 'No app is polled more often than this; a shorter --poll-interval is refused and a shorter spec.pollInterval is raised to it (with a condition)' -r
complete -c moor -n "__fish_moor_using_subcommand controller" -l webhook-addr -d 'Address for webhooks, /healthz and /readyz (and /metrics unless --metrics-addr is given), e.g. 0.0.0.0:8080' -r
complete -c moor -n "__fish_moor_using_subcommand controller" -l metrics-addr -d 'Address for /metrics, /healthz and /readyz only, e.g. 0.0.0.0:9090; the webhook address then serves no metrics' -r
complete -c moor -n "__fish_moor_using_subcommand controller" -l ui-addr -d 'Address for the web UI and its JSON API, e.g. 0.0.0.0:8443: callers authenticate with bearer tokens and Kubernetes RBAC decides what they see and do (docs/ui-api.md)' -r
complete -c moor -n "__fish_moor_using_subcommand controller" -l webhook-max-body -d 'Largest webhook body read (e.g. 1MiB); larger ones get 413 before any signature check' -r
complete -c moor -n "__fish_moor_using_subcommand controller" -l webhook-max-in-flight -d 'Webhook requests handled at once; more get 503 at once' -r
complete -c moor -n "__fish_moor_using_subcommand controller" -l github-secret -d 'Secret of GitHub webhooks (X-Hub-Signature-256)' -r
complete -c moor -n "__fish_moor_using_subcommand controller" -l gitlab-token -d 'Token of GitLab webhooks (X-Gitlab-Token)' -r
complete -c moor -n "__fish_moor_using_subcommand controller" -l webhook-token -d 'Bearer token of generic webhooks' -r
complete -c moor -n "__fish_moor_using_subcommand controller" -l concurrency -d 'Apps reconciled at once' -r
complete -c moor -n "__fish_moor_using_subcommand controller" -l cache-dir -d 'Cache of repositories and checkouts (default: $MOOR_CACHE or ~/.cache/moor)' -r -F
complete -c moor -n "__fish_moor_using_subcommand controller" -l cache-gc-interval -d 'How often unused checkouts and repositories are removed from the cache' -r
complete -c moor -n "__fish_moor_using_subcommand controller" -l cache-gc-min-idle -d 'Checkouts and repositories used within this time are never removed (a render may be reading them); besides those, the apps\' current commits and the 5 most recently used checkouts per repository are kept' -r
complete -c moor -n "__fish_moor_using_subcommand controller" -l allow-exec-command -d 'A command that kubeconfigs of cluster Secrets may run as an exec credential plugin or auth-provider cmd-path, exactly as written there (repeatable; none by default)' -r
complete -c moor -n "__fish_moor_using_subcommand controller" -l render-timeout -d 'A renderer (kustomize, helm) running longer is killed' -r
complete -c moor -n "__fish_moor_using_subcommand controller" -l max-render-bytes -d 'Largest render: manifest files read or renderer output (e.g. 64MiB)' -r
complete -c moor -n "__fish_moor_using_subcommand controller" -l max-render-objects -d 'Most objects one source may render' -r
complete -c moor -n "__fish_moor_using_subcommand controller" -l render-cache-bytes -d 'Bound of the render cache in memory (estimated), e.g. 256MiB' -r
complete -c moor -n "__fish_moor_using_subcommand controller" -l shards -d '`auto`: replicas split the apps between them through per-replica Leases in --namespace (the --leader-election-* timings), each reconciling its own share; a replica that joins or dies moves only its share, handed over once the previous owner stopped' -r -f -a "auto\t''"
complete -c moor -n "__fish_moor_using_subcommand controller" -l shard-by -d 'With --shards: split by app (namespace/name), or by destination cluster (every app of a cluster on one replica)' -r -f -a "app\t'Each Application on its own'
cluster\t'All apps of one destination cluster on one replica'"
complete -c moor -n "__fish_moor_using_subcommand controller" -l leader-election-id -d 'Name of the leader election Lease' -r
complete -c moor -n "__fish_moor_using_subcommand controller" -l leader-election-lease-duration -d 'How long followers wait after the leader\'s last renewal before taking over. 10s (client-go: 15s) so a dead leader is replaced within 15 s: a follower needs the lease duration plus a retry period (BENCHMARKS.md, failover)' -r
complete -c moor -n "__fish_moor_using_subcommand controller" -l leader-election-renew-deadline -d 'How long the leader retries renewing before it gives up (and exits, to be restarted)' -r
complete -c moor -n "__fish_moor_using_subcommand controller" -l leader-election-retry-period -d 'How often candidates try to take the Lease and the leader renews it' -r
complete -c moor -n "__fish_moor_using_subcommand controller" -l log-format -d 'Log format: text or json' -r -f -a "text\t''
json\t''"
complete -c moor -n "__fish_moor_using_subcommand controller" -l argocd-compat -d 'Also reconcile argoproj.io/v1alpha1 Applications'
complete -c moor -n "__fish_moor_using_subcommand controller" -l no-adopt -d 'Refuse to take objects that already exist without any app\'s tracking id into an app (by default they are adopted, and reported as such)'
complete -c moor -n "__fish_moor_using_subcommand controller" -l strict-projects -d 'Create no `default` AppProject: an app syncs only in a project an administrator made'
complete -c moor -n "__fish_moor_using_subcommand controller" -l require-impersonation -d 'Sync an app only as a service account (its project\'s destinationServiceAccounts, or its spec.serviceAccountName), so the API server\'s RBAC bounds every write'
complete -c moor -n "__fish_moor_using_subcommand controller" -l allow-remote-value-files -d 'Let Helm fetch http(s):// value files named by the source (off: a repository or an Application could make moor fetch any URL)'
complete -c moor -n "__fish_moor_using_subcommand controller" -l allow-remote-bases -d 'Let kustomize fetch remote bases and charts (https://, git::, github.com/...); off by default, as Flux\'s --no-remote-bases'
complete -c moor -n "__fish_moor_using_subcommand controller" -l leader-elect -d 'Reconcile only while holding a Lease in --namespace, so several replicas can run: the others serve probes, metrics and webhooks (pushes are passed on to the leader)'
complete -c moor -n "__fish_moor_using_subcommand controller" -s v -l verbose -d 'More log output (-v info, -vv debug); MOOR_LOG overrides'
complete -c moor -n "__fish_moor_using_subcommand controller" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c moor -n "__fish_moor_using_subcommand ui" -l port -d 'Port on 127.0.0.1 (0: any free port)' -r
complete -c moor -n "__fish_moor_using_subcommand ui" -l kubeconfig -d 'Path to the kubeconfig file (default: KUBECONFIG, ~/.kube/config)' -r -F
complete -c moor -n "__fish_moor_using_subcommand ui" -l context -d 'Kubeconfig context (default: the current one)' -r
complete -c moor -n "__fish_moor_using_subcommand ui" -s n -l namespace -d 'Show only the Applications of this namespace (for a user who may not list them in all namespaces); default: every namespace' -r
complete -c moor -n "__fish_moor_using_subcommand ui" -l log-format -d 'Log format: text or json' -r -f -a "text\t''
json\t''"
complete -c moor -n "__fish_moor_using_subcommand ui" -s v -l verbose -d 'More log output (-v info, -vv debug); MOOR_LOG overrides'
complete -c moor -n "__fish_moor_using_subcommand ui" -s h -l help -d 'Print help'
complete -c moor -n "__fish_moor_using_subcommand image; and not __fish_seen_subcommand_from set help" -l log-format -d 'Log format: text or json' -r -f -a "text\t''
json\t''"
complete -c moor -n "__fish_moor_using_subcommand image; and not __fish_seen_subcommand_from set help" -s v -l verbose -d 'More log output (-v info, -vv debug); MOOR_LOG overrides'
complete -c moor -n "__fish_moor_using_subcommand image; and not __fish_seen_subcommand_from set help" -s h -l help -d 'Print help'
complete -c moor -n "__fish_moor_using_subcommand image; and not __fish_seen_subcommand_from set help" -f -a "set" -d 'Set image references under a path (kustomize images: entries, image: fields, setter markers) and push one commit. Comments, key order and quoting stay as they are'
complete -c moor -n "__fish_moor_using_subcommand image; and not __fish_seen_subcommand_from set help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c moor -n "__fish_moor_using_subcommand image; and __fish_seen_subcommand_from set" -l repo -d 'Git repository (https://, ssh://, git@host:path, file://)' -r
complete -c moor -n "__fish_moor_using_subcommand image; and __fish_seen_subcommand_from set" -l branch -d 'Branch to commit to (default: the remote\'s default branch)' -r
complete -c moor -n "__fish_moor_using_subcommand image; and __fish_seen_subcommand_from set" -l author-name -d 'Commit author and committer name' -r
complete -c moor -n "__fish_moor_using_subcommand image; and __fish_seen_subcommand_from set" -l author-email -d 'Commit author and committer email' -r
complete -c moor -n "__fish_moor_using_subcommand image; and __fish_seen_subcommand_from set" -l attempts -d 'Pushes tried while other writers keep moving the branch' -r
complete -c moor -n "__fish_moor_using_subcommand image; and __fish_seen_subcommand_from set" -l git-username -d 'Git username for https (or MOOR_GIT_USERNAME)' -r
complete -c moor -n "__fish_moor_using_subcommand image; and __fish_seen_subcommand_from set" -l git-password -d 'Git password or token for https; prefer the env var MOOR_GIT_PASSWORD' -r
complete -c moor -n "__fish_moor_using_subcommand image; and __fish_seen_subcommand_from set" -l ssh-key -d 'SSH private key for ssh:// and git@ URLs (or MOOR_GIT_SSH_KEY)' -r -F
complete -c moor -n "__fish_moor_using_subcommand image; and __fish_seen_subcommand_from set" -l known-hosts -d 'known_hosts file for SSH (or MOOR_GIT_KNOWN_HOSTS)' -r -F
complete -c moor -n "__fish_moor_using_subcommand image; and __fish_seen_subcommand_from set" -l path -d 'Directory (or file) in the repository to edit, e.g. overlays/staging' -r
complete -c moor -n "__fish_moor_using_subcommand image; and __fish_seen_subcommand_from set" -l message -d 'Commit message; {images}, {path} and {branch} are replaced. [default: "Update images in {path}", a blank line, {images}]' -r
complete -c moor -n "__fish_moor_using_subcommand image; and __fish_seen_subcommand_from set" -l policy -d 'The latest reference of a policy, for `# {"$imagepolicy": "NS:POLICY"}` setter markers' -r
complete -c moor -n "__fish_moor_using_subcommand image; and __fish_seen_subcommand_from set" -l log-format -d 'Log format: text or json' -r -f -a "text\t''
json\t''"
complete -c moor -n "__fish_moor_using_subcommand image; and __fish_seen_subcommand_from set" -l dry-run -d 'Print the diff; commit and push nothing'
complete -c moor -n "__fish_moor_using_subcommand image; and __fish_seen_subcommand_from set" -s v -l verbose -d 'More log output (-v info, -vv debug); MOOR_LOG overrides'
complete -c moor -n "__fish_moor_using_subcommand image; and __fish_seen_subcommand_from set" -s h -l help -d 'Print help'
complete -c moor -n "__fish_moor_using_subcommand image; and __fish_seen_subcommand_from help" -f -a "set" -d 'Set image references under a path (kustomize images: entries, image: fields, setter markers) and push one commit. Comments, key order and quoting stay as they are'
complete -c moor -n "__fish_moor_using_subcommand image; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c moor -n "__fish_moor_using_subcommand promote" -l repo -d 'Git repository (https://, ssh://, git@host:path, file://)' -r
complete -c moor -n "__fish_moor_using_subcommand promote" -l branch -d 'Branch to commit to (default: the remote\'s default branch)' -r
complete -c moor -n "__fish_moor_using_subcommand promote" -l author-name -d 'Commit author and committer name' -r
complete -c moor -n "__fish_moor_using_subcommand promote" -l author-email -d 'Commit author and committer email' -r
complete -c moor -n "__fish_moor_using_subcommand promote" -l attempts -d 'Pushes tried while other writers keep moving the branch' -r
complete -c moor -n "__fish_moor_using_subcommand promote" -l git-username -d 'Git username for https (or MOOR_GIT_USERNAME)' -r
complete -c moor -n "__fish_moor_using_subcommand promote" -l git-password -d 'Git password or token for https; prefer the env var MOOR_GIT_PASSWORD' -r
complete -c moor -n "__fish_moor_using_subcommand promote" -l ssh-key -d 'SSH private key for ssh:// and git@ URLs (or MOOR_GIT_SSH_KEY)' -r -F
complete -c moor -n "__fish_moor_using_subcommand promote" -l known-hosts -d 'known_hosts file for SSH (or MOOR_GIT_KNOWN_HOSTS)' -r -F
complete -c moor -n "__fish_moor_using_subcommand promote" -l from -d 'Path whose image references are copied, e.g. overlays/staging' -r
complete -c moor -n "__fish_moor_using_subcommand promote" -l to -d 'Path that gets them, e.g. overlays/production' -r
complete -c moor -n "__fish_moor_using_subcommand promote" -l message -d 'Commit message; {images}, {from}, {path} (the --to path) and {branch} are replaced. [default: "Promote images from {from} to {path}", a blank line, {images}]' -r
complete -c moor -n "__fish_moor_using_subcommand promote" -l log-format -d 'Log format: text or json' -r -f -a "text\t''
json\t''"
complete -c moor -n "__fish_moor_using_subcommand promote" -l dry-run -d 'Print the diff; commit and push nothing'
complete -c moor -n "__fish_moor_using_subcommand promote" -s v -l verbose -d 'More log output (-v info, -vv debug); MOOR_LOG overrides'
complete -c moor -n "__fish_moor_using_subcommand promote" -s h -l help -d 'Print help'
complete -c moor -n "__fish_moor_using_subcommand install" -l kubeconfig -d 'Path to the kubeconfig file (default: KUBECONFIG or ~/.kube/config)' -r -F
complete -c moor -n "__fish_moor_using_subcommand install" -l context -d 'The kubeconfig context to use' -r
complete -c moor -n "__fish_moor_using_subcommand install" -s n -l namespace -d 'The controller\'s namespace. Another than moor-system also names the cluster-wide RBAC objects after it (moor-controller-NS), so two installs never share them' -r
complete -c moor -n "__fish_moor_using_subcommand install" -l version -d 'The moor version to run: the image ghcr.io/moor-dev/moor:VERSION (default: this client\'s version)' -r
complete -c moor -n "__fish_moor_using_subcommand install" -l image -d 'The controller image, e.g. registry.local/moor:1.2.0 (instead of --version)' -r
complete -c moor -n "__fish_moor_using_subcommand install" -l rbac -d 'full: the controller may write any kind (deploy/rbac); impersonation: every app write is made as a service account its project names (deploy/impersonation)' -r -f -a "full\t''
impersonation\t''"
complete -c moor -n "__fish_moor_using_subcommand install" -l replicas -d 'Controller replicas (one leads, the others stand by; default: deploy/\'s 2)' -r
complete -c moor -n "__fish_moor_using_subcommand install" -l wait -d 'Wait until the controller Deployment is Available (--wait=false: return after applying)' -r -f -a "true\t''
false\t''"
complete -c moor -n "__fish_moor_using_subcommand install" -l timeout -d 'Bound on the wait, e.g. 90s or 5m' -r
complete -c moor -n "__fish_moor_using_subcommand install" -s o -l output -r -f -a "table\t''
json\t''"
complete -c moor -n "__fish_moor_using_subcommand install" -l log-format -d 'Log format: text or json' -r -f -a "text\t''
json\t''"
complete -c moor -n "__fish_moor_using_subcommand install" -l dry-run -d 'Server-side dry run: print what would change, write nothing'
complete -c moor -n "__fish_moor_using_subcommand install" -l skip-crds -d 'Leave the CustomResourceDefinitions out (someone else manages them, e.g. Argo CD\'s)'
complete -c moor -n "__fish_moor_using_subcommand install" -s v -l verbose -d 'More log output (-v info, -vv debug); MOOR_LOG overrides'
complete -c moor -n "__fish_moor_using_subcommand install" -s h -l help -d 'Print help'
complete -c moor -n "__fish_moor_using_subcommand uninstall" -l kubeconfig -d 'Path to the kubeconfig file (default: KUBECONFIG or ~/.kube/config)' -r -F
complete -c moor -n "__fish_moor_using_subcommand uninstall" -l context -d 'The kubeconfig context to use' -r
complete -c moor -n "__fish_moor_using_subcommand uninstall" -s n -l namespace -d 'The controller\'s namespace. Another than moor-system also names the cluster-wide RBAC objects after it (moor-controller-NS), so two installs never share them' -r
complete -c moor -n "__fish_moor_using_subcommand uninstall" -l timeout -d 'Bound on every wait, e.g. 90s or 5m' -r
complete -c moor -n "__fish_moor_using_subcommand uninstall" -s o -l output -r -f -a "table\t''
json\t''"
complete -c moor -n "__fish_moor_using_subcommand uninstall" -l log-format -d 'Log format: text or json' -r -f -a "text\t''
json\t''"
complete -c moor -n "__fish_moor_using_subcommand uninstall" -l crds -d 'Delete the CustomResourceDefinitions and the namespace too, and with them every Application, AppProject and image automation object of the cluster'
complete -c moor -n "__fish_moor_using_subcommand uninstall" -l force -d 'With --crds: go on although Applications exist (their finalizers are removed first, so the objects they manage stay in the cluster)'
complete -c moor -n "__fish_moor_using_subcommand uninstall" -l dry-run -d 'Server-side dry run: print what would be deleted, delete nothing'
complete -c moor -n "__fish_moor_using_subcommand uninstall" -s v -l verbose -d 'More log output (-v info, -vv debug); MOOR_LOG overrides'
complete -c moor -n "__fish_moor_using_subcommand uninstall" -s h -l help -d 'Print help'
complete -c moor -n "__fish_moor_using_subcommand version" -l kubeconfig -d 'Path to the kubeconfig file (default: KUBECONFIG or ~/.kube/config)' -r -F
complete -c moor -n "__fish_moor_using_subcommand version" -l context -d 'The kubeconfig context to use' -r
complete -c moor -n "__fish_moor_using_subcommand version" -s n -l namespace -d 'The controller\'s namespace. Another than moor-system also names the cluster-wide RBAC objects after it (moor-controller-NS), so two installs never share them' -r
complete -c moor -n "__fish_moor_using_subcommand version" -l timeout -d 'How long to try reaching the cluster' -r
complete -c moor -n "__fish_moor_using_subcommand version" -l log-format -d 'Log format: text or json' -r -f -a "text\t''
json\t''"
complete -c moor -n "__fish_moor_using_subcommand version" -l client -d 'Only the client\'s version; no cluster is contacted'
complete -c moor -n "__fish_moor_using_subcommand version" -s v -l verbose -d 'More log output (-v info, -vv debug); MOOR_LOG overrides'
complete -c moor -n "__fish_moor_using_subcommand version" -s h -l help -d 'Print help'
complete -c moor -n "__fish_moor_using_subcommand completion" -l log-format -d 'Log format: text or json' -r -f -a "text\t''
json\t''"
complete -c moor -n "__fish_moor_using_subcommand completion" -s v -l verbose -d 'More log output (-v info, -vv debug); MOOR_LOG overrides'
complete -c moor -n "__fish_moor_using_subcommand completion" -s h -l help -d 'Print help'
complete -c moor -n "__fish_moor_using_subcommand man" -l log-format -d 'Log format: text or json' -r -f -a "text\t''
json\t''"
complete -c moor -n "__fish_moor_using_subcommand man" -s v -l verbose -d 'More log output (-v info, -vv debug); MOOR_LOG overrides'
complete -c moor -n "__fish_moor_using_subcommand man" -s h -l help -d 'Print help'
complete -c moor -n "__fish_moor_using_subcommand help; and not __fish_seen_subcommand_from render diff sync app project controller ui image promote install uninstall version completion man help" -f -a "render" -d 'Print the rendered objects as one YAML stream, in apply order'
complete -c moor -n "__fish_moor_using_subcommand help; and not __fish_seen_subcommand_from render diff sync app project controller ui image promote install uninstall version completion man help" -f -a "diff" -d 'Show how the cluster differs from Git. Exit 0: in sync; 1: differences; >1: error'
complete -c moor -n "__fish_moor_using_subcommand help; and not __fish_seen_subcommand_from render diff sync app project controller ui image promote install uninstall version completion man help" -f -a "sync" -d 'Make the cluster match Git: validate, dry-run, apply what drifted, prune, wait'
complete -c moor -n "__fish_moor_using_subcommand help; and not __fish_seen_subcommand_from render diff sync app project controller ui image promote install uninstall version completion man help" -f -a "app" -d 'Manage Applications, the objects the controller syncs from Git'
complete -c moor -n "__fish_moor_using_subcommand help; and not __fish_seen_subcommand_from render diff sync app project controller ui image promote install uninstall version completion man help" -f -a "project" -d 'Manage AppProjects: which repositories, destinations and kinds an Application may use'
complete -c moor -n "__fish_moor_using_subcommand help; and not __fish_seen_subcommand_from render diff sync app project controller ui image promote install uninstall version completion man help" -f -a "controller" -d 'Run the Application controller (out of cluster with a kubeconfig, or in cluster)'
complete -c moor -n "__fish_moor_using_subcommand help; and not __fish_seen_subcommand_from render diff sync app project controller ui image promote install uninstall version completion man help" -f -a "ui" -d 'Serve the web UI on 127.0.0.1 with your kubeconfig\'s identity (prints its address)'
complete -c moor -n "__fish_moor_using_subcommand help; and not __fish_seen_subcommand_from render diff sync app project controller ui image promote install uninstall version completion man help" -f -a "image" -d 'Write new image references into the manifests in Git (the CI deploy step)'
complete -c moor -n "__fish_moor_using_subcommand help; and not __fish_seen_subcommand_from render diff sync app project controller ui image promote install uninstall version completion man help" -f -a "promote" -d 'Copy the image references of one path to another (e.g. staging to production), in one commit'
complete -c moor -n "__fish_moor_using_subcommand help; and not __fish_seen_subcommand_from render diff sync app project controller ui image promote install uninstall version completion man help" -f -a "install" -d 'Install the controller, its CRDs and RBAC (deploy/) into the cluster, or upgrade them'
complete -c moor -n "__fish_moor_using_subcommand help; and not __fish_seen_subcommand_from render diff sync app project controller ui image promote install uninstall version completion man help" -f -a "uninstall" -d 'Remove what `moor install` installed (the CRDs, and so every Application, only with --crds)'
complete -c moor -n "__fish_moor_using_subcommand help; and not __fish_seen_subcommand_from render diff sync app project controller ui image promote install uninstall version completion man help" -f -a "version" -d 'Print the client\'s version and the installed controller\'s'
complete -c moor -n "__fish_moor_using_subcommand help; and not __fish_seen_subcommand_from render diff sync app project controller ui image promote install uninstall version completion man help" -f -a "completion" -d 'Print a shell completion script: `source <(moor completion bash)`'
complete -c moor -n "__fish_moor_using_subcommand help; and not __fish_seen_subcommand_from render diff sync app project controller ui image promote install uninstall version completion man help" -f -a "man" -d 'Write the man pages (moor.1, moor-app.1, ...) into a directory'
complete -c moor -n "__fish_moor_using_subcommand help; and not __fish_seen_subcommand_from render diff sync app project controller ui image promote install uninstall version completion man help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c moor -n "__fish_moor_using_subcommand help; and __fish_seen_subcommand_from app" -f -a "create" -d 'Create an Application (or update it with --upsert)'
complete -c moor -n "__fish_moor_using_subcommand help; and __fish_seen_subcommand_from app" -f -a "list" -d 'List the Applications of the namespace'
complete -c moor -n "__fish_moor_using_subcommand help; and __fish_seen_subcommand_from app" -f -a "get" -d 'Show an Application: source, destination, sync, health and its objects'
complete -c moor -n "__fish_moor_using_subcommand help; and __fish_seen_subcommand_from app" -f -a "refresh" -d 'Ask the controller to fetch the source afresh and compare now; then show the Application'
complete -c moor -n "__fish_moor_using_subcommand help; and __fish_seen_subcommand_from app" -f -a "sync" -d 'Ask the controller to sync an Application now'
complete -c moor -n "__fish_moor_using_subcommand help; and __fish_seen_subcommand_from app" -f -a "diff" -d 'Show how the cluster differs from the Application\'s source (rendered locally). Exit 0: in sync; 1: differences; >1: error'
complete -c moor -n "__fish_moor_using_subcommand help; and __fish_seen_subcommand_from app" -f -a "history" -d 'List the revisions an Application was synced to'
complete -c moor -n "__fish_moor_using_subcommand help; and __fish_seen_subcommand_from app" -f -a "rollback" -d 'Sync an Application back to a revision of its history (turns auto-sync off)'
complete -c moor -n "__fish_moor_using_subcommand help; and __fish_seen_subcommand_from app" -f -a "delete" -d 'Delete an Application and, unless --cascade=false, the objects it manages'
complete -c moor -n "__fish_moor_using_subcommand help; and __fish_seen_subcommand_from app" -f -a "suspend" -d 'Stop reconciling an Application (spec.suspend): no fetch, sync or self-heal'
complete -c moor -n "__fish_moor_using_subcommand help; and __fish_seen_subcommand_from app" -f -a "resume" -d 'Reconcile a suspended Application again, at once'
complete -c moor -n "__fish_moor_using_subcommand help; and __fish_seen_subcommand_from app" -f -a "wait" -d 'Wait until an Application is Synced and Healthy (both unless --sync or --health). Exit 0: reached; 1: timed out; 2: a sync failed while waiting for --sync'
complete -c moor -n "__fish_moor_using_subcommand help; and __fish_seen_subcommand_from project" -f -a "create" -d 'Create an AppProject (or replace its rules with --upsert)'
complete -c moor -n "__fish_moor_using_subcommand help; and __fish_seen_subcommand_from project" -f -a "list" -d 'List the AppProjects of the namespace'
complete -c moor -n "__fish_moor_using_subcommand help; and __fish_seen_subcommand_from project" -f -a "get" -d 'Show an AppProject\'s rules'
complete -c moor -n "__fish_moor_using_subcommand help; and __fish_seen_subcommand_from project" -f -a "delete" -d 'Delete an AppProject (its Applications are then refused until it exists again)'
complete -c moor -n "__fish_moor_using_subcommand help; and __fish_seen_subcommand_from image" -f -a "set" -d 'Set image references under a path (kustomize images: entries, image: fields, setter markers) and push one commit. Comments, key order and quoting stay as they are'
