//! The `pre-receive` hook: a POSIX `sh` script that reads `<git_dir>/standin-rules` (which
//! the stand-in rewrites on every change) and refuses pushes with GitHub's texts.

use std::path::Path;

const PRE_RECEIVE: &str = r#"#!/bin/sh
# Written by the GitHub stand-in: refuses pushes as GitHub's branch protection would.
rules="$(dirname "$0")/../standin-rules"
[ -f "$rules" ] || rules="${GIT_DIR:-.}/standin-rules"
zero=0000000000000000000000000000000000000000
set -f
status=0

# rule KIND BRANCH: whether a line "KIND INCLUDE [EXCLUDE...]" selects BRANCH.
rule() {
    [ -f "$rules" ] || return 1
    while read -r kind include excludes; do
        [ "$kind" = "$1" ] || continue
        case "$2" in
            $include) ;;
            *) continue ;;
        esac
        excluded=no
        for e in $excludes; do
            case "$2" in
                $e) excluded=yes ;;
            esac
        done
        [ "$excluded" = no ] && return 0
    done < "$rules"
    return 1
}

while read -r old new ref; do
    case "$ref" in
        refs/heads/*) branch=${ref#refs/heads/} ;;
        *) continue ;;
    esac
    if rule renaming "$branch"; then
        echo "error: GH006: Protected branch update failed for $ref." >&2
        echo "error: This branch is being renamed; pushes to it are refused until the rename is done." >&2
        status=1
        continue
    fi
    if rule locked "$branch"; then
        echo "error: GH006: Protected branch update failed for $ref." >&2
        echo "error: Cannot change this locked branch" >&2
        status=1
        continue
    fi
    if [ "$new" = "$zero" ]; then
        if rule nodelete "$branch"; then
            echo "error: GH006: Protected branch update failed for $ref." >&2
            echo "error: Cannot delete this protected branch" >&2
            status=1
        fi
        continue
    fi
    [ "$old" = "$zero" ] && continue
    if rule pr "$branch"; then
        echo "error: GH006: Protected branch update failed for $ref." >&2
        echo "error: Changes must be made through a pull request." >&2
        status=1
        continue
    fi
    if rule noforce "$branch" && ! git merge-base --is-ancestor "$old" "$new" 2>/dev/null; then
        echo "error: GH006: Protected branch update failed for $ref." >&2
        echo "error: Cannot force-push to this branch" >&2
        status=1
    fi
done
exit $status
"#;

/// Writes the executable hook into `git_dir/hooks/pre-receive`.
pub fn install(git_dir: &Path) -> std::io::Result<()> {
    let hooks = git_dir.join("hooks");
    std::fs::create_dir_all(&hooks)?;
    let path = hooks.join("pre-receive");
    std::fs::write(&path, PRE_RECEIVE)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))?;
    }
    Ok(())
}
