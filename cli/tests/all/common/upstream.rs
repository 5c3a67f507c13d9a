//! A plain upstream on loopback for the hostile plugins to reach:
//! `GET /bytes/N` answers N bytes, `/status/CODE` answers that status, and
//! every request is recorded (method and path). Runs on a thread of its own,
//! so sync and async tests use it alike.

use std::sync::{Arc, Mutex};

use axum::extract::{Path, Request};
use axum::http::StatusCode;
use axum::routing::{any, get};

pub struct Upstream {
    pub url: String,
    requests: Arc<Mutex<Vec<(String, String)>>>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl Upstream {
    pub fn start() -> Self {
        let requests: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
        let seen = Arc::clone(&requests);
        let router = axum::Router::new()
            .route(
                "/bytes/{n}",
                get(|Path(n): Path<usize>| async move { vec![b'z'; n] }),
            )
            .route(
                "/status/{code}",
                any(|Path(code): Path<u16>| async move {
                    StatusCode::from_u16(code).unwrap_or(StatusCode::IM_A_TEAPOT)
                }),
            )
            .layer(axum::middleware::from_fn(
                move |request: Request, next: axum::middleware::Next| {
                    let seen = Arc::clone(&seen);
                    async move {
                        seen.lock().unwrap().push((
                            request.method().to_string(),
                            request.uri().path().to_owned(),
                        ));
                        next.run(request).await
                    }
                },
            ));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                axum::serve(listener, router)
                    .with_graceful_shutdown(async {
                        let _ = stopped.await;
                    })
                    .await
                    .unwrap();
            });
        });
        Upstream {
            url,
            requests,
            _stop: stop,
        }
    }

    /// Every request so far: (method, path).
    pub fn requests(&self) -> Vec<(String, String)> {
        self.requests.lock().unwrap().clone()
    }
}
