//! What the smaller deploy suites share: a private moto server, the counting proxy in front of it,
//! clients reading moto directly (never through the proxy), and a project directory the `deployer`
//! binary runs in with the proxy as its endpoint. The deploy suite's [`world`](super::world) adds
//! its fixtures and checks to the same.

use std::process::Command;

use chalice_deployer::aws::Clients;

use crate::support::deployer::{self, Run};
use crate::support::fault_proxy::FaultProxy;
use crate::support::moto::Moto;
use crate::support::project::Project;

/// The stand-in bootstrap's file name in the project directory.
pub const BOOTSTRAP: &str = "bootstrap";

/// moto, the proxy, a project directory.
pub struct Proxied {
    pub moto: Moto,
    pub proxy: FaultProxy,
    /// Clients reading moto directly.
    pub aws: Clients,
    pub project: Project,
}

impl Proxied {
    /// A fresh moto, the proxy in front of it (no faults), an empty project directory.
    pub async fn start() -> Proxied {
        let moto = Moto::start();
        let proxy = FaultProxy::start(&moto.endpoint());
        let aws = moto.clients().await;
        Proxied {
            moto,
            proxy,
            aws,
            project: Project::empty(),
        }
    }

    /// Writes `source` as the app file and a stand-in bootstrap for it to [`BOOTSTRAP`] (`v1`).
    pub fn write_app(&self, source: &str) {
        self.project.write_app(source);
        self.project.write_fake_bootstrap(BOOTSTRAP, "v1");
    }

    /// `deployer ARGS` in the project directory, pointed at the proxy.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = deployer::against(&self.moto, self.project.path(), args);
        cmd.env("AWS_ENDPOINT_URL", self.proxy.endpoint());
        cmd
    }

    /// Runs `deployer ARGS` to the end; the run with the calls it made (the proxy's log restarts
    /// with it).
    pub fn run(&self, args: &[&str]) -> Run {
        let mut cmd = self.command(args);
        self.proxy.reset();
        let mut run = deployer::run(&mut cmd);
        run.log = Some(self.proxy.log());
        run
    }

    /// `deployer deploy --yes --bootstrap bootstrap`.
    pub fn deploy(&self) -> Run {
        self.run(&["deploy", "--yes", "--bootstrap", BOOTSTRAP])
    }
}
