// Checkpoint-interval theory the sweep compares the simulator against.
// Symbols: C = checkpoint cost, R = restore (recovery) cost, D = downtime after
// a failure, M = 1/λ = mean time between failures, W = failure-free work, τ =
// compute between two checkpoints. All in seconds. Every function throws
// AnalyticError (one line) on inputs outside its domain.
#pragma once
#include <stdexcept>

namespace ckptsim::sim::analytic {

struct AnalyticError : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

// Young (1974): τ = √(2CM). C ≥ 0, M > 0.
double young_interval(double C, double M);

// Daly (2006), higher order: τ = √(2CM)·[1 + ⅓√(C/2M) + (1/9)(C/2M)] − C when
// C < 2M, else τ = M. C ≥ 0, M > 0.
double daly_interval(double C, double M);

struct Costs {
  double W = 0;  // failure-free work (> 0)
  double C = 0;  // checkpoint cost (≥ 0)
  double R = 0;  // restore cost (≥ 0)
  double D = 0;  // downtime (≥ 0)
};

// Expected time to finish W cut into chunks of τ, each followed by a checkpoint,
// with exponential failures of rate λ that can strike anywhere except during
// downtime: E(τ) = W/τ · e^{λR} (1/λ + D)(e^{λ(τ+C)} − 1). λ = 0 gives the
// failure-free limit W(τ+C)/τ. τ > 0, λ ≥ 0.
double expected_time(const Costs& k, double lambda, double tau);

// The τ that minimises expected_time (it does not depend on W, R or D). dE/dτ = 0
// reduces to (1 − x)e^x = e^{−λC} with x = λτ, whose one root lies in (0, 1);
// it is found by bisection, written so that tiny λC keeps full precision.
// C > 0, λ > 0.
double optimal_interval(double C, double lambda);

// The paper's failure model: a job is killed at most once, with probability p,
// at a time uniform over its failure-free run (work plus dumps); a killed job
// loses on average half a segment, (τ + C)/2, then pays R + D. To first order
// (checkpoints as a rate W/τ): T(τ) = W + (W/τ)C + p((τ + C)/2 + R + D), which
// is lowest at τ = √(2WC/p). Not exponential: for the same kill probability,
// Young's τ with the matching rate (below) is shorter by √(p / −ln(1−p)).
double single_kill_interval(double W, double C, double p);
double single_kill_expected_time(const Costs& k, double p, double tau);

// A job of failure-free length T killed with probability p has the exponential
// rate λ = −ln(1 − p)/T. p in [0, 1), T > 0.
double rate_from_kill_probability(double p, double T);

// N independent nodes, each with MTBF M: the platform sees a failure every M/N.
double platform_mtbf(double node_mtbf, int nodes);

}  // namespace ckptsim::sim::analytic
