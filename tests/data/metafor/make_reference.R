# Reference values for tests/test_stats.py and tests/test_comparisons.py, computed with R's metafor.
# Run from this folder:  Rscript make_reference.R
# Writes the input data (bcg.csv, normand1999.csv, multiarm.csv) and the values (reference.json) beside
# this script, so that the tests run without R.  Effects are group 1 (intervention) over / minus group 2.
suppressMessages(library(metafor))
library(jsonlite)

# REML's Fisher scoring stops by default when tau2 changes by less than 1e-5, which leaves I2 and the
# weights up to ~1e-2 away from the maximum; iterate to convergence so the values are the estimator's own.
converged <- list(threshold = 1e-12, maxiter = 10000)

fit_values <- function(res) {
  # what rma.uni / rma.mh return and predict() gives for the same model, on the analysis scale
  p <- predict(res)
  list(beta = unname(coef(res)), se = res$se, ci_lb = res$ci.lb, ci_ub = res$ci.ub,
       pi_lb = if (is.null(p$pi.lb)) res$ci.lb else p$pi.lb,
       pi_ub = if (is.null(p$pi.ub)) res$ci.ub else p$pi.ub,
       tau2 = if (is.null(res$tau2)) 0 else res$tau2, I2 = res$I2, QE = res$QE, QEp = res$QEp, k = res$k,
       weights = unname(weights(res)))
}

two_by_two <- function(data, label, measures = c("RR", "OR", "RD")) {
  # RR, OR and RD under fixed (EE), DL, REML, DL and REML with HKSJ (test="knha"), and Mantel-Haenszel
  out <- list()
  for (measure in measures) {
    es <- escalc(measure = measure, ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = data)
    out[[length(out) + 1]] <- list(dataset = label, measure = tolower(measure), method = "escalc",
                                   yi = as.numeric(es$yi), vi = as.numeric(es$vi))
    for (method in c("EE", "DL", "REML")) {
      for (knha in c(FALSE, TRUE)) {
        if (method == "EE" && knha) next
        res <- rma(yi, vi, data = es, method = method, test = if (knha) "knha" else "z", control = converged)
        out[[length(out) + 1]] <- c(list(dataset = label, measure = tolower(measure),
                                         method = if (method == "EE") "fixed" else tolower(method), hksj = knha),
                                    fit_values(res))
      }
    }
    res <- rma.mh(ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = data, measure = measure)
    out[[length(out) + 1]] <- c(list(dataset = label, measure = tolower(measure), method = "mh", hksj = FALSE),
                                fit_values(res))
  }
  out
}

# --- dat.bcg: BCG vaccine trials; the event is tuberculosis, group 1 vaccinated
bcg <- data.frame(study = paste(dat.bcg$author, dat.bcg$year), ai = dat.bcg$tpos, n1i = dat.bcg$tpos + dat.bcg$tneg,
                  ci = dat.bcg$cpos, n2i = dat.bcg$cpos + dat.bcg$cneg)
write.csv(bcg, "bcg.csv", row.names = FALSE)
values <- two_by_two(bcg, "bcg")

# --- dat.normand1999: length of hospital stay, specialist stroke care (group 1) vs routine care
normand <- dat.normand1999[, c("source", "n1i", "m1i", "sd1i", "n2i", "m2i", "sd2i")]
write.csv(normand, "normand1999.csv", row.names = FALSE)
for (spec in list(c("MD", "REML"), c("SMD", "DL"), c("MD", "DL"), c("SMD", "REML"))) {
  es <- escalc(measure = spec[1], m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i, data = normand)
  values[[length(values) + 1]] <- list(dataset = "normand1999", measure = tolower(spec[1]), method = "escalc",
                                       yi = as.numeric(es$yi), vi = as.numeric(es$vi))
  for (knha in c(FALSE, TRUE)) {
    res <- rma(yi, vi, data = es, method = spec[2], test = if (knha) "knha" else "z", control = converged)
    values[[length(values) + 1]] <- c(list(dataset = "normand1999", measure = tolower(spec[1]),
                                            method = tolower(spec[2]), hksj = knha), fit_values(res))
  }
}

# --- a multi-arm case, written here (multiarm-library/ holds it as a user writes it): trial3 has two
# intervention arms (needles 24/60, needles+herbs 30/60) sharing one control arm (18/60); trial1 and trial2
# are two-arm trials; trial4 has a zero cell.  In one analysis the shared control would count twice, so it
# is split evenly (Cochrane Handbook 23.3.4): each of trial3's comparisons gets 9 events out of 30.
# metafor is given the split data.  trial5 has no events in either arm: it is left out of RR and OR, and
# kept for RD (escalc adds 1/2 to its cells), so RD is computed with it as "multiarm00".
multiarm <- data.frame(study = c("trial1", "trial2", "trial3 needles", "trial3 needles+herbs", "trial4"),
                       ai = c(40, 12, 24, 30, 0), n1i = c(100, 50, 60, 60, 20),
                       ci = c(30, 8, 9, 9, 3), n2i = c(100, 48, 30, 30, 20))
write.csv(multiarm, "multiarm.csv", row.names = FALSE)
values <- c(values, two_by_two(multiarm, "multiarm", c("RR", "OR")))
multiarm00 <- rbind(multiarm, data.frame(study = "trial5", ai = 0, n1i = 15, ci = 0, n2i = 15))
write.csv(multiarm00, "multiarm00.csv", row.names = FALSE)
values <- c(values, two_by_two(multiarm00, "multiarm00", "RD"))

writeLines(toJSON(list(metafor = as.character(packageVersion("metafor")), R = R.version.string, values = values),
                  digits = NA, auto_unbox = TRUE, pretty = TRUE), "reference.json")
