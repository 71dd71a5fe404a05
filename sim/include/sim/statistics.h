// Means and Student-t confidence intervals over replications.
#pragma once
#include <vector>

namespace ckptsim::sim {

double mean(const std::vector<double>& v);
// Half-width of the two-sided 95 % confidence interval of the mean (Student t,
// n - 1 degrees of freedom); 0 for fewer than two values.
double ci95_half_width(const std::vector<double>& v);
double student_t_975(int degrees_of_freedom);

}  // namespace ckptsim::sim
