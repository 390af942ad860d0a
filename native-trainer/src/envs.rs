//! Classic-control environments, faithful to Gymnasium 1.x: the same
//! constants, integrators and order of floating-point operations (state in
//! f64, observations cast to f32), the same rewards, termination, truncation
//! at the registered step limits (CartPole-v1 500, Acrobot-v1 500,
//! MountainCar-v0 200) and reset distributions (uniform ranges; our generator
//! is not NumPy's, so reset states differ in value but not in law).
//! `tests/envs/*.json` holds trajectories recorded from Gymnasium itself.

use adasample::rng::unit_f64;
use adasample::DefaultRng;
use anyhow::{bail, Result};
use std::f64::consts::PI;

/// What one step returns.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Step {
    pub obs: Vec<f32>,
    pub reward: f64,
    pub terminated: bool,
    pub truncated: bool,
}

/// The environments the trainer knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
pub enum EnvId {
    #[value(name = "cartpole-v1")]
    #[serde(rename = "cartpole-v1")]
    CartPole,
    #[value(name = "acrobot-v1")]
    #[serde(rename = "acrobot-v1")]
    Acrobot,
    #[value(name = "mountaincar-v0")]
    #[serde(rename = "mountaincar-v0")]
    MountainCar,
}

impl EnvId {
    pub fn name(self) -> &'static str {
        match self {
            EnvId::CartPole => "cartpole-v1",
            EnvId::Acrobot => "acrobot-v1",
            EnvId::MountainCar => "mountaincar-v0",
        }
    }

    /// The returns an episode can have: rewards per step times the step limit.
    pub fn return_range(self) -> (f64, f64) {
        match self {
            EnvId::CartPole => (0.0, 500.0),
            EnvId::Acrobot => (-500.0, 0.0),
            EnvId::MountainCar => (-200.0, 0.0),
        }
    }

    pub fn make(self) -> Env {
        let (state_dim, obs_dim, actions, limit) = match self {
            EnvId::CartPole => (4, 4, 2, 500),
            EnvId::Acrobot => (4, 6, 3, 500),
            EnvId::MountainCar => (2, 2, 3, 200),
        };
        Env { id: self, state: vec![0.0; state_dim], obs_dim, actions, limit, elapsed: 0 }
    }
}

/// An environment with its time limit (Gymnasium's `TimeLimit` wrapper).
#[derive(Debug, Clone)]
pub struct Env {
    pub id: EnvId,
    state: Vec<f64>,
    pub obs_dim: usize,
    pub actions: usize,
    pub limit: u32,
    elapsed: u32,
}

fn uniform(rng: &mut DefaultRng, lo: f64, hi: f64) -> f64 {
    lo + (hi - lo) * unit_f64(rng)
}

impl Env {
    /// Samples the reset distribution; returns the first observation.
    pub fn reset(&mut self, rng: &mut DefaultRng) -> Vec<f32> {
        match self.id {
            EnvId::CartPole => self.state.iter_mut().for_each(|s| *s = uniform(rng, -0.05, 0.05)),
            EnvId::Acrobot => self.state.iter_mut().for_each(|s| *s = uniform(rng, -0.1, 0.1)),
            EnvId::MountainCar => self.state = vec![uniform(rng, -0.6, -0.4), 0.0],
        }
        self.elapsed = 0;
        self.obs()
    }

    /// Sets the raw state (as `env.unwrapped.state = ...`) and restarts the time limit.
    pub fn set_state(&mut self, state: &[f64]) -> Result<()> {
        if state.len() != self.state.len() {
            bail!("{} has a state of {} numbers, got {}", self.id.name(), self.state.len(), state.len());
        }
        if let Some(v) = state.iter().find(|v| !v.is_finite()) {
            bail!("state values must be finite, got {v}");
        }
        self.state.copy_from_slice(state);
        self.elapsed = 0;
        Ok(())
    }

    /// The observation space's bounds (Gymnasium's `observation_space.low/high`,
    /// float32; infinite where unbounded).
    pub fn observation_bounds(&self) -> (Vec<f32>, Vec<f32>) {
        let high: Vec<f32> = match self.id {
            EnvId::CartPole => vec![2.4 * 2.0, f32::INFINITY, (12.0 * 2.0 * PI / 360.0 * 2.0) as f32, f32::INFINITY],
            EnvId::Acrobot => vec![1.0, 1.0, 1.0, 1.0, (4.0 * PI) as f32, (9.0 * PI) as f32],
            EnvId::MountainCar => return (vec![-1.2, -0.07], vec![0.6, 0.07]),
        };
        (high.iter().map(|h| -h).collect(), high)
    }

    pub fn state(&self) -> &[f64] {
        &self.state
    }

    pub fn obs(&self) -> Vec<f32> {
        let s = &self.state;
        match self.id {
            EnvId::CartPole | EnvId::MountainCar => s.iter().map(|&x| x as f32).collect(),
            EnvId::Acrobot => {
                [s[0].cos(), s[0].sin(), s[1].cos(), s[1].sin(), s[2], s[3]].iter().map(|&x| x as f32).collect()
            }
        }
    }

    pub fn step(&mut self, action: usize) -> Result<Step> {
        if action >= self.actions {
            bail!("{} takes actions 0..{}, got {action}", self.id.name(), self.actions);
        }
        let (reward, terminated) = match self.id {
            EnvId::CartPole => self.cartpole(action),
            EnvId::Acrobot => self.acrobot(action),
            EnvId::MountainCar => self.mountaincar(action),
        };
        self.elapsed += 1;
        Ok(Step { obs: self.obs(), reward, terminated, truncated: self.elapsed >= self.limit })
    }

    /// gymnasium/envs/classic_control/cartpole.py (euler integrator).
    fn cartpole(&mut self, action: usize) -> (f64, bool) {
        const GRAVITY: f64 = 9.8;
        const MASSCART: f64 = 1.0;
        const MASSPOLE: f64 = 0.1;
        const TOTAL_MASS: f64 = MASSPOLE + MASSCART;
        const LENGTH: f64 = 0.5;
        const POLEMASS_LENGTH: f64 = MASSPOLE * LENGTH;
        const FORCE_MAG: f64 = 10.0;
        const TAU: f64 = 0.02;
        let theta_threshold = 12.0 * 2.0 * PI / 360.0;
        let [x, x_dot, theta, theta_dot] = [self.state[0], self.state[1], self.state[2], self.state[3]];
        let force = if action == 1 { FORCE_MAG } else { -FORCE_MAG };
        let (costheta, sintheta) = (theta.cos(), theta.sin());
        let temp = (force + POLEMASS_LENGTH * theta_dot.powi(2) * sintheta) / TOTAL_MASS;
        let thetaacc =
            (GRAVITY * sintheta - costheta * temp) / (LENGTH * (4.0 / 3.0 - MASSPOLE * costheta.powi(2) / TOTAL_MASS));
        let xacc = temp - POLEMASS_LENGTH * thetaacc * costheta / TOTAL_MASS;
        let x = x + TAU * x_dot;
        let x_dot = x_dot + TAU * xacc;
        let theta = theta + TAU * theta_dot;
        let theta_dot = theta_dot + TAU * thetaacc;
        self.state.copy_from_slice(&[x, x_dot, theta, theta_dot]);
        let terminated = !(-2.4..=2.4).contains(&x) || !(-theta_threshold..=theta_threshold).contains(&theta);
        (1.0, terminated)
    }

    /// gymnasium/envs/classic_control/acrobot.py ("book" dynamics, RK4 over dt = 0.2).
    fn acrobot(&mut self, action: usize) -> (f64, bool) {
        const MAX_VEL_1: f64 = 4.0 * PI;
        const MAX_VEL_2: f64 = 9.0 * PI;
        let torque = [-1.0, 0.0, 1.0][action];
        let s = [self.state[0], self.state[1], self.state[2], self.state[3], torque];
        let ns = rk4(s, 0.2);
        let wrap = |mut x: f64| {
            let diff = 2.0 * PI;
            while x > PI {
                x -= diff;
            }
            while x < -PI {
                x += diff;
            }
            x
        };
        self.state.copy_from_slice(&[
            wrap(ns[0]),
            wrap(ns[1]),
            ns[2].clamp(-MAX_VEL_1, MAX_VEL_1),
            ns[3].clamp(-MAX_VEL_2, MAX_VEL_2),
        ]);
        let s = &self.state;
        let terminated = -s[0].cos() - (s[1] + s[0]).cos() > 1.0;
        (if terminated { 0.0 } else { -1.0 }, terminated)
    }

    /// gymnasium/envs/classic_control/mountain_car.py.
    fn mountaincar(&mut self, action: usize) -> (f64, bool) {
        const MIN_POSITION: f64 = -1.2;
        const MAX_POSITION: f64 = 0.6;
        const MAX_SPEED: f64 = 0.07;
        const GOAL_POSITION: f64 = 0.5;
        const FORCE: f64 = 0.001;
        const GRAVITY: f64 = 0.0025;
        let (mut position, mut velocity) = (self.state[0], self.state[1]);
        velocity += (action as f64 - 1.0) * FORCE + (3.0 * position).cos() * (-GRAVITY);
        velocity = velocity.clamp(-MAX_SPEED, MAX_SPEED);
        position += velocity;
        position = position.clamp(MIN_POSITION, MAX_POSITION);
        if position == MIN_POSITION && velocity < 0.0 {
            velocity = 0.0;
        }
        self.state.copy_from_slice(&[position, velocity]);
        (-1.0, position >= GOAL_POSITION && velocity >= 0.0)
    }
}

/// Acrobot's equations of motion; `s = [theta1, theta2, dtheta1, dtheta2, torque]`.
fn dsdt(s: [f64; 5]) -> [f64; 5] {
    let (m1, m2, l1, lc1, lc2, i1, i2, g): (f64, f64, f64, f64, f64, f64, f64, f64) =
        (1.0, 1.0, 1.0, 0.5, 0.5, 1.0, 1.0, 9.8);
    let [theta1, theta2, dtheta1, dtheta2, a] = s;
    let d1 = m1 * lc1.powi(2) + m2 * (l1.powi(2) + lc2.powi(2) + 2.0 * l1 * lc2 * theta2.cos()) + i1 + i2;
    let d2 = m2 * (lc2.powi(2) + l1 * lc2 * theta2.cos()) + i2;
    let phi2 = m2 * lc2 * g * (theta1 + theta2 - PI / 2.0).cos();
    let phi1 = -m2 * l1 * lc2 * dtheta2.powi(2) * theta2.sin() - 2.0 * m2 * l1 * lc2 * dtheta2 * dtheta1 * theta2.sin()
        + (m1 * lc1 + m2 * l1) * g * (theta1 - PI / 2.0).cos()
        + phi2;
    let ddtheta2 = (a + d2 / d1 * phi1 - m2 * l1 * lc2 * dtheta1.powi(2) * theta2.sin() - phi2)
        / (m2 * lc2.powi(2) + i2 - d2.powi(2) / d1);
    let ddtheta1 = -(d2 * ddtheta2 + phi1) / d1;
    [dtheta1, dtheta2, ddtheta1, ddtheta2, 0.0]
}

/// One classical Runge-Kutta step of length `dt`, as Gymnasium's `rk4` over `[0, dt]`.
fn rk4(y0: [f64; 5], dt: f64) -> [f64; 5] {
    let dt2 = dt / 2.0;
    let add = |y: [f64; 5], h: f64, k: [f64; 5]| -> [f64; 5] { std::array::from_fn(|i| y[i] + h * k[i]) };
    let k1 = dsdt(y0);
    let k2 = dsdt(add(y0, dt2, k1));
    let k3 = dsdt(add(y0, dt2, k2));
    let k4 = dsdt(add(y0, dt, k3));
    std::array::from_fn(|i| y0[i] + dt / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]))
}
