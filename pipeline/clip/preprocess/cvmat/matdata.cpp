#include <opencv2/core.hpp>

#include "matdata.h"

unsigned char *linesight_mat_data(void *mat) {
    return static_cast<cv::Mat *>(mat)->data;
}
