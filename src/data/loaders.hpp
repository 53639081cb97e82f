// Loaders for data sets beyond CSV: IDX (MNIST / Fashion-MNIST, optionally gzip-compressed) and
// LIBSVM / svmlight text. Errors are DataError naming the file (and line for text formats).
#pragma once

#include "data/dataset.hpp"

namespace dmlsim {

// Every loader parses straight into `storage` (see Storage).

// IDX images (magic 0x00000803, unsigned bytes, n × rows × cols) and labels (0x00000801): pixels are
// divided by `scale` (255 maps them to [0, 1]). ".gz" files are decompressed on the fly.
Dataset load_idx(const std::filesystem::path& images, const std::filesystem::path& labels, double scale,
                 Storage storage = Storage::Float64);

// LIBSVM lines "label index:value index:value …" with 1-based, increasing indices. `features` fixes
// the dimension (0: the largest index seen). Labels: {-1, +1} map to {0, 1}; otherwise labels must
// be integers, mapped to 0 … C-1 in increasing order.
Dataset load_libsvm(const std::filesystem::path& file, Eigen::Index features, Storage storage = Storage::Float64);

// Throws DataError, starting with `where`, if a dense rows x columns matrix of doubles would not fit
// in half of the machine's available memory (a sparse index of 2^30 would otherwise end in bad_alloc).
void check_dense_size(Eigen::Index rows, Eigen::Index columns, const std::string& where);

}  // namespace dmlsim
