//! `https://` remotes, through rebranch's own transport (rustls), against a loopback TLS
//! server running `git http-backend`: listing, the whole migration's pushes with their
//! leases, a clone made by a batch, credentials from the git credential helper, and
//! certificates that are checked.

use crate::support::https::{self, HttpsGit};
use crate::support::{Sandbox, git, ls_remote, rebranch_env};
use rebranch::exec::effects::{Effects, GitEffects};
use rebranch::git::remote::RefUpdate;

const USER: &str = "bot";
const PASSWORD: &str = "s3cret-https-token";

/// A sample whose origin is served over HTTPS with a login, and whose clone trusts the test
/// CA and has a credential helper that answers with the login.
fn served() -> (Sandbox, HttpsGit) {
    let s = Sandbox::new();
    git(&s.origin, &["config", "receive.denyDeletes", "false"]);
    let server = HttpsGit::serve(s.origin.parent().unwrap(), Some((USER, PASSWORD)));
    git(&s.clone, &["remote", "set-url", "origin", &server.url("origin.git")]);
    git(&s.clone, &["config", "http.sslCAInfo", https::ca_file().to_str().unwrap()]);
    let helper = format!("!f() {{ echo username={USER}; echo password={PASSWORD}; }}; f");
    git(&s.clone, &["config", "credential.helper", &helper]);
    (s, server)
}

#[test]
fn plan_apply_and_rollback_over_https() {
    let (s, server) = served();
    let before = ls_remote(&s.origin);
    let plan = s.rebranch(&["plan", "--detailed-exitcode"]).expect(2);
    assert!(plan.stdout.contains("release"), "{}", plan.stdout);
    assert_eq!(ls_remote(&s.origin), before, "plan changes nothing");

    s.rebranch(&["apply", "--yes"]).expect(0);
    let after = ls_remote(&s.origin);
    assert_eq!(after.get("release"), before.get("charts"), "release holds charts' tip");
    assert!(!after.contains_key("charts"), "{after:?}");
    assert_eq!(after.get("integration"), after.get("main"));
    git(&s.origin, &["fsck", "--no-progress"]);
    s.rebranch(&["plan", "--detailed-exitcode"]).expect(0);

    let served = server.served();
    assert!(served.iter().any(|r| r.status == 401), "the server asked for credentials");
    let pushes: Vec<_> = served
        .iter()
        .filter(|r| r.path.ends_with("/git-receive-pack") && r.method == "POST")
        .collect();
    assert!(pushes.len() >= 4, "one push per ref update: {served:?}");
    assert!(pushes.iter().all(|r| r.status == 200 && r.authorized), "{served:?}");

    s.rebranch(&["rollback", "--yes"]).expect(0);
    assert_eq!(ls_remote(&s.origin), before, "rollback restores every branch");
}

#[test]
fn a_push_over_https_keeps_its_lease() {
    let (s, _server) = served();
    let repo = git2::Repository::open(&s.clone).unwrap();
    let mut fx = GitEffects::new(&repo);
    let observed = fx.remote_head("origin", "charts").unwrap().unwrap();
    assert_eq!(observed.to_string(), ls_remote(&s.origin)["charts"], "listed over https");

    let theirs = s.teammate_pushes("charts", "NOTICE");
    let err = fx
        .push("origin", &RefUpdate { branch: "charts".into(), expect: Some(observed), new: None })
        .unwrap_err()
        .to_string();
    assert!(err.contains("remote branch `charts` is at"), "{err}");
    assert_eq!(ls_remote(&s.origin)["charts"], theirs, "their push survived");

    let theirs_oid = git2::Oid::from_str(&theirs).unwrap();
    fx.push("origin", &RefUpdate { branch: "charts".into(), expect: Some(theirs_oid), new: None })
        .expect("a push with the right lease goes through");
    assert!(!ls_remote(&s.origin).contains_key("charts"));
}

#[test]
fn a_batch_clones_a_url_over_https() {
    let s = Sandbox::new();
    // The clone the batch makes trusts the test CA through the user's git config.
    let ca = https::ca_file();
    let config = format!(
        "[user]\n\tname = Fleet Bot\n\temail = fleet-bot@acme.example\n[http]\n\tsslCAInfo = {}\n",
        ca.display()
    );
    std::fs::write(s.dir.path().join(".gitconfig"), config).unwrap();
    let server = HttpsGit::serve(s.origin.parent().unwrap(), None);
    let file = s.dir.path().join("repos.toml");
    std::fs::write(
        &file,
        format!("[[repo]]\nname = \"web\"\nurl = {:?}\n", server.url("origin.git")),
    )
    .unwrap();
    let env: [(&str, &str); 0] = [];
    let args = ["batch", "plan", "--repos", file.to_str().unwrap()];
    let run = rebranch_env(s.dir.path(), s.dir.path(), &args, &env).expect(0);
    assert!(run.stdout.contains("web "), "{}", run.stdout);
    let clone = s.dir.path().join("web");
    let tracking = git(&clone, &["for-each-ref", "--format=%(refname) %(objectname)"]);
    for (branch, oid) in ls_remote(&s.origin) {
        assert!(tracking.contains(&format!("refs/remotes/origin/{branch} {oid}")), "{tracking}");
    }
    git(&clone, &["fsck", "--no-progress"]);
    // A second run fetches into the clone already there.
    let theirs = s.teammate_pushes("main", "NOTICE");
    let again = rebranch_env(s.dir.path(), s.dir.path(), &args, &env).expect(0);
    assert!(again.stdout.contains("1 repositories: 1 needs review."), "{}", again.stdout);
    assert_eq!(git(&clone, &["rev-parse", "refs/remotes/origin/main"]).trim(), theirs);
}

#[test]
fn certificates_and_credentials_are_checked() {
    let (s, server) = served();
    // The system's roots do not include the test CA: the connection is refused.
    git(&s.clone, &["config", "--unset", "http.sslCAInfo"]);
    let untrusted = s.rebranch(&["plan"]).expect(1);
    assert!(untrusted.stderr.contains("certificate"), "{}", untrusted.stderr);
    assert!(untrusted.stderr.contains("127.0.0.1"), "{}", untrusted.stderr);
    // A login in the remote's URL is never shown.
    let with_login = format!("https://bot:{PASSWORD}@127.0.0.1:{}/origin.git", server.port);
    git(&s.clone, &["remote", "set-url", "origin", &with_login]);
    let hidden = s.rebranch(&["plan"]).expect(1);
    assert!(!hidden.all().contains(PASSWORD), "{}", hidden.all());
    assert!(hidden.stderr.contains("***@127.0.0.1"), "{}", hidden.stderr);
    git(&s.clone, &["remote", "set-url", "origin", &server.url("origin.git")]);

    git(&s.clone, &["config", "http.sslCAInfo", https::ca_file().to_str().unwrap()]);
    git(
        &s.clone,
        &["config", "credential.helper", "!f() { echo username=bot; echo password=wrong; }; f"],
    );
    let refused = s.rebranch(&["plan"]).expect(1);
    assert!(refused.stderr.contains("asks for credentials"), "{}", refused.stderr);
    assert!(!refused.all().contains("wrong"), "the password stays secret: {}", refused.all());

    git(&s.clone, &["config", "--unset", "credential.helper"]);
    let none = s.rebranch(&["plan"]).expect(1);
    assert!(none.stderr.contains("git credential helper"), "{}", none.stderr);
}
