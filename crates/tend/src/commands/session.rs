//! `tend login` and `tend logout`.

use std::io::{BufRead, IsTerminal};

use anyhow::{Context, bail};
use tend_proto::api::{IssuedToken, LoginRequest};

use crate::cli::LoginArgs;
use crate::client::{Api, Login, forget_login, load_login, save_login};

pub async fn login(args: LoginArgs) -> anyhow::Result<()> {
    let password = read_password(args.password_stdin)?;
    let hostname = rustix::system::uname().nodename().to_string_lossy().into_owned();
    let request =
        LoginRequest { username: args.user.clone(), password, token_name: Some(format!("tend CLI on {hostname}")) };
    let issued: IssuedToken = Api::new(&args.server, None)?.post("/api/v1/auth/login", &request).await?;
    let path = save_login(&Login {
        server: args.server.clone(),
        username: issued.user.username.clone(),
        token: issued.token,
    })?;
    println!("Logged in to {} as {}; token kept in {}.", args.server, issued.user.username, path.display());
    Ok(())
}

fn read_password(from_stdin: bool) -> anyhow::Result<String> {
    let password = if from_stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).context("reading the password from standard input")?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    } else if std::io::stdin().is_terminal() {
        rpassword::prompt_password("Password: ").context("reading the password")?
    } else {
        bail!("standard input is not a terminal: pass --password-stdin to read the password from it");
    };
    if password.is_empty() {
        bail!("empty password");
    }
    Ok(password)
}

pub async fn logout() -> anyhow::Result<()> {
    let login = match load_login() {
        Ok(login) => login,
        Err(e) if e.is::<crate::exit::NotLoggedIn>() => {
            println!("Not logged in.");
            return Ok(());
        }
        Err(e) => return Err(e),
    };
    let revoked = Api::new(&login.server, Some(login.token.clone()))?.post_empty("/api/v1/auth/logout").await;
    forget_login()?;
    match revoked {
        Ok(()) => println!("Logged out of {}; the token is revoked.", login.server),
        Err(e) => println!("Forgot the login; the server could not revoke the token ({e})."),
    }
    Ok(())
}
