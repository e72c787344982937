// The OpenMP wait policy msa runs with (see omp_wait_policy.cpp for why).
#pragma once

namespace msa {

// Unless OMP_WAIT_POLICY is set, sets it to PASSIVE and re-executes the program with the
// same arguments; returns when the policy is already in place (or re-executing failed).
void use_passive_omp_wait(char** argv);

} // namespace msa
