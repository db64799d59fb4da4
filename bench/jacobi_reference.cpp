// Reference plain-Jacobi lattice-DFT adsorption isotherms (single thread, double precision).
//
// The model of matinverse.porous.LatticeDFT(method="jacobi"): an L x L periodic grid,
// eta_i = 1 pore / 0 solid, 4 nearest neighbours,
//
//   rho_i <- eta_i / (1 + exp(-beta [mu + sum_{j in nn(i)} (w_ff rho_j + w_mf (1 - eta_j))]))
//
// k_B = 0.0019872041 kcal/mol/K, T = 298 K, T_c = 647 K, w_ff = k_B T_c, w_mf = 1.5 w_ff,
// beta = 1 / (k_B T), mu_sat = -2 k_B T_c, mu(RH) = mu_sat + k_B T ln RH, mu(0) = -90;
// RH = 0, 0.025, ..., 1 (41 points). Adsorption branch: rho = eta, solve RH = 0, then
// warm-start each next RH from the previous state. One point is converged when the mean over
// all L*L sites of (delta rho)^2 is below 1e-10. theta = sum rho / sum eta.
//
// Full L x L grid, precomputed periodic neighbour indices, two buffers swapped, std::exp.
// The per-site constant part of the exponent, beta (mu + w_mf * #solid neighbours), is
// computed once per pressure (solid sites contribute w_ff * 0 to the sum, since rho = 0 there);
// solid sites are skipped (rho stays 0).
//
// Usage: jacobi_reference GRIDS.bin THETA.bin [L=20] [REPEATS=1]
//   GRIDS.bin: raw (N, L, L) uint8, 1 = pore. THETA.bin: raw (N, 41) float64 adsorption.
// Prints "ms_per_isotherm <best over repeats>" and the total seconds of each repeat
// (computation only, no I/O).

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <vector>

namespace {

constexpr double kBoltzmann = 0.0019872041;  // kcal/mol/K
constexpr double kTemperature = 298.0;
constexpr double kCritical = 647.0;
constexpr double kWallRatio = 1.5;
constexpr double kMuAtZero = -90.0;
constexpr double kTolerance = 1e-10;
constexpr int kPoints = 41;
constexpr long kMaxSweeps = 1000000;

struct Isotherm {
  int size;
  std::vector<int> up, down, left, right;  // periodic neighbour indices
  std::vector<double> rho, next, field0, n_solid;

  explicit Isotherm(int L) : size(L) {
    const int n = L * L;
    up.resize(n), down.resize(n), left.resize(n), right.resize(n);
    rho.resize(n), next.resize(n), field0.resize(n), n_solid.resize(n);
    for (int i = 0; i < L; ++i) {
      for (int j = 0; j < L; ++j) {
        const int k = i * L + j;
        down[k] = ((i + 1) % L) * L + j;
        up[k] = ((i + L - 1) % L) * L + j;
        right[k] = i * L + (j + 1) % L;
        left[k] = i * L + (j + L - 1) % L;
      }
    }
  }

  // Adsorption thetas of one grid into theta[0..kPoints). Returns unconverged points.
  int run(const std::uint8_t* eta, const double* mus, double* theta) {
    const int n = size * size;
    const double beta = 1.0 / (kBoltzmann * kTemperature);
    const double w_ff = kBoltzmann * kCritical;
    const double w_mf = kWallRatio * w_ff;
    const double coupling = beta * w_ff;
    int pores = 0;
    for (int k = 0; k < n; ++k) {
      pores += eta[k];
      n_solid[k] = (1 - eta[down[k]]) + (1 - eta[up[k]]) + (1 - eta[right[k]]) +
                   (1 - eta[left[k]]);
      rho[k] = eta[k];
      next[k] = 0.0;
    }
    int failures = 0;
    for (int p = 0; p < kPoints; ++p) {
      for (int k = 0; k < n; ++k) field0[k] = beta * (mus[p] + w_mf * n_solid[k]);
      long sweep = 0;
      for (; sweep < kMaxSweeps; ++sweep) {
        double sq = 0.0;
        const double* r = rho.data();
        double* out = next.data();
        for (int k = 0; k < n; ++k) {
          if (!eta[k]) continue;  // solid: rho = 0 in both buffers
          const double s = r[down[k]] + r[up[k]] + r[right[k]] + r[left[k]];
          const double v = 1.0 / (1.0 + std::exp(-(field0[k] + coupling * s)));
          const double d = v - r[k];
          sq += d * d;
          out[k] = v;
        }
        rho.swap(next);
        if (sq / n < kTolerance) break;
      }
      if (sweep == kMaxSweeps) ++failures;
      double total = 0.0;
      for (int k = 0; k < n; ++k) total += rho[k];
      theta[p] = total / pores;
    }
    return failures;
  }
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s GRIDS.bin THETA.bin [L=20] [REPEATS=1]\n", argv[0]);
    return 2;
  }
  const int L = argc > 3 ? std::atoi(argv[3]) : 20;
  const int repeats = argc > 4 ? std::atoi(argv[4]) : 1;
  std::ifstream in(argv[1], std::ios::binary);
  if (!in || L <= 0 || repeats <= 0) {
    std::fprintf(stderr, "cannot read %s (or bad L / REPEATS)\n", argv[1]);
    return 2;
  }
  std::vector<std::uint8_t> grids((std::istreambuf_iterator<char>(in)),
                                  std::istreambuf_iterator<char>());
  const std::size_t cells = static_cast<std::size_t>(L) * L;
  if (grids.empty() || grids.size() % cells != 0) {
    std::fprintf(stderr, "file size %zu is not a multiple of L*L = %zu\n", grids.size(), cells);
    return 2;
  }
  const std::size_t n_grids = grids.size() / cells;

  double mus[kPoints];
  for (int p = 0; p < kPoints; ++p) {
    // exactly numpy.linspace(0, 1, 41): p * (1 / 40), last point 1
    const double rh = p == kPoints - 1 ? 1.0 : p * (1.0 / (kPoints - 1));
    mus[p] = rh > 0 ? -2.0 * kBoltzmann * kCritical + kBoltzmann * kTemperature * std::log(rh)
                    : kMuAtZero;
  }

  std::vector<double> theta(n_grids * kPoints);
  Isotherm solver(L);
  double best = 1e300;
  int failures = 0;
  for (int rep = 0; rep < repeats; ++rep) {
    failures = 0;
    const auto start = std::chrono::steady_clock::now();
    for (std::size_t g = 0; g < n_grids; ++g) {
      failures += solver.run(grids.data() + g * cells, mus, theta.data() + g * kPoints);
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("repeat %d seconds %.6f\n", rep, seconds);
    if (seconds < best) best = seconds;
  }
  std::printf("ms_per_isotherm %.6f\n", 1e3 * best / n_grids);
  std::printf("failures %d\n", failures);

  std::ofstream out(argv[2], std::ios::binary);
  out.write(reinterpret_cast<const char*>(theta.data()),
            static_cast<std::streamsize>(theta.size() * sizeof(double)));
  return out ? 0 : 1;
}
